//! Serde helpers that make saved state exact. Floats are written as strings in Rust's shortest
//! round-trip form (`"0.1"`, `"1e-6"`, `"NaN"`) and parsed back with `str::parse`, which is
//! correctly rounded; JSON numbers would pass through serde_json's approximate float parser and
//! could come back one ulp off, and JSON has no NaN. Plain JSON numbers and `null` (= NaN) are
//! accepted on input too, for hand-written configs.

use serde::de::Error;
use serde::{Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Num {
    Text(String),
    Number(f64),
    Null(()),
}

fn parse<E: Error>(n: Num) -> Result<f64, E> {
    match n {
        Num::Text(s) => s
            .parse::<f64>()
            .map_err(|_| E::custom(format!("not a number: {s:?}"))),
        Num::Number(v) => Ok(v),
        Num::Null(()) => Ok(f64::NAN),
    }
}

fn text(v: f64) -> String {
    format!("{v:?}")
}

pub mod exact {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        parse(Num::deserialize(d)?)
    }
}

pub mod exact_vec {
    use super::*;
    use serde::Serialize;

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|x| text(*x)).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Num>::deserialize(d)?.into_iter().map(parse).collect()
    }
}

pub mod exact_mat {
    use super::*;
    use serde::Serialize;

    pub fn serialize<S: Serializer>(v: &[Vec<f64>], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|row| row.iter().map(|x| text(*x)).collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
        Vec::<Vec<Num>>::deserialize(d)?
            .into_iter()
            .map(|row| row.into_iter().map(parse).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Probe {
        #[serde(with = "super::exact_vec")]
        v: Vec<f64>,
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        let v = vec![
            0.1,
            1.0 / 3.0,
            1e-300,
            -2.5e300,
            f64::MIN_POSITIVE,
            5e-324,
            0.010590343261654646,
            f64::NAN,
            f64::INFINITY,
            -0.0,
        ];
        let back: Probe =
            serde_json::from_str(&serde_json::to_string(&Probe { v: v.clone() }).unwrap()).unwrap();
        for (a, b) in v.iter().zip(&back.v) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        let typed: Probe = serde_json::from_str(r#"{"v": [1.5, null, "2"]}"#).unwrap();
        assert_eq!(typed.v[0], 1.5);
        assert!(typed.v[1].is_nan());
        assert_eq!(typed.v[2], 2.0);
    }
}
