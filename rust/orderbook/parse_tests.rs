use super::*;

fn grids() -> (Grid, Grid) {
    (
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00001").unwrap(),
    )
}

type Parsed<'a> = (DepthHeader<'a>, Vec<(i64, i64)>, Vec<(i64, i64)>);

fn depth(raw: &str) -> CoreResult<Parsed<'_>> {
    let (tick, step) = grids();
    let g = LevelGrids {
        tick: &tick,
        step: &step,
    };
    let (mut b, mut a) = (Vec::new(), Vec::new());
    let h = parse_depth_update(raw.as_bytes(), &g, &mut b, &mut a)?;
    Ok((h, b, a))
}

const PLAIN: &str = r#"{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17000000","1.5"]],"a":[["61837.64000000","1.54698000"]]}"#;

#[test]
fn plain_and_combined_frames_read_the_same() {
    let (h, b, a) = depth(PLAIN).unwrap();
    assert_eq!(h.symbol, b"BTCUSDT");
    assert_eq!(
        (h.first_update_id, h.final_update_id),
        (50093239189, 50093239202)
    );
    assert_eq!(h.prev_final_update_id, None);
    assert_eq!(h.event_time_ms, Some(1723161255208));
    assert_eq!(b, vec![(6_173_763, 0), (6_173_017, 150_000)]);
    assert_eq!(a, vec![(6_183_764, 154_698)]);
    let wrapped = format!(r#"{{"stream":"btcusdt@depth@100ms","data":{PLAIN}}}"#);
    let (h2, b2, a2) = depth(&wrapped).unwrap();
    assert_eq!((h2, b2, a2), (h, b, a));
    let spaced = format!(" {{ \"data\" : {PLAIN} ,\n \"stream\":\"x\\\"y\"}} \n");
    assert!(depth(&spaced).is_ok());
}

#[test]
fn usdm_frame_carries_pu_and_ignores_unknown_fields() {
    let raw = r#"{"e":"depthUpdate","E":1,"T":2,"s":"BTCUSDT","U":10,"u":12,"pu":9,"x":{"k":[1,true,null,"\u0041"]},"b":[],"a":[[61659.8,0.5]]}"#;
    let (h, b, a) = depth(raw).unwrap();
    assert_eq!(h.prev_final_update_id, Some(9));
    assert!(b.is_empty());
    assert_eq!(a, vec![(6_165_980, 50_000)]);
}

#[test]
fn malformed_frames_name_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("", "end of input"),
        ("{", "end of input"),
        ("[]", "expected '{'"),
        (r#"{"e":"trade","s":"BTCUSDT"}"#, "not a depthUpdate"),
        (r#"{"s":"BTCUSDT","U":1,"u":2,"a":[]}"#, "lacks field \"b\""),
        (
            r#"{"s":"BTCUSDT","U":1,"b":[],"a":[]}"#,
            "lacks field \"u\"",
        ),
        (
            r#"{"s":"BTCUSDT","U":3,"u":2,"b":[],"a":[]}"#,
            "U=3 after u=2",
        ),
        (
            r#"{"s":"BTCUSDT","U":-1,"u":2,"b":[],"a":[]}"#,
            "non-negative integer",
        ),
        (
            r#"{"s":"BTCUSDT","U":1,"U":1,"u":2,"b":[],"a":[]}"#,
            "duplicate field",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["1.001","1"]],"a":[]}"#,
            "not a multiple of 0.01",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["NaN","1"]],"a":[]}"#,
            "not a decimal number",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["inf","1"]],"a":[]}"#,
            "not a decimal number",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["1","-1"]],"a":[]}"#,
            "must not be negative",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["0","1"]],"a":[]}"#,
            "must be positive",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["1","1","1"]],"a":[]}"#,
            "[price, quantity] pair",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[["1"]],"a":[]}"#,
            "expected ','",
        ),
        (r#"{"s":"X","U":1,"u":2,"b":[],"a":[]} x"#, "trailing data"),
        (r#"{"s":"X","U":1,"u":2,"b":[],"a":[],}"#, "expected '\"'"),
        (
            r#"{"s":"X\u0041","U":1,"u":2,"b":[],"a":[]}"#,
            "unsupported escape",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[],"a":[],"z":"open"#,
            "unterminated string",
        ),
        (
            r#"{"s":"X","U":1,"u":2,"b":[],"a":[],"z":tru}"#,
            "a JSON value",
        ),
    ];
    for (raw, needle) in cases {
        let message = depth(raw).unwrap_err().to_string();
        assert!(
            message.contains(needle),
            "{raw:?}: {message:?} lacks {needle:?}"
        );
    }
}

#[test]
fn snapshot_reads_rest_depth() {
    let (tick, step) = grids();
    let g = LevelGrids {
        tick: &tick,
        step: &step,
    };
    let raw = br#"{"lastUpdateId":50093239218,"E":5,"T":6,"bids":[["61837.63","3.78826"]],"asks":[["61837.64","1.54698"],["61840.00","0.1"]]}"#;
    let (mut b, mut a) = (Vec::new(), Vec::new());
    let h = parse_snapshot(raw, &g, &mut b, &mut a).unwrap();
    assert_eq!(h.last_update_id, 50093239218);
    assert_eq!(b, vec![(6_183_763, 378_826)]);
    assert_eq!(a.len(), 2);
    let bad = br#"{"bids":[],"asks":[]}"#;
    let message = parse_snapshot(bad, &g, &mut b, &mut a)
        .unwrap_err()
        .to_string();
    assert!(message.contains("lastUpdateId"), "{message}");
}
