//! Criterion benches of the Rust side of the Kalman filter and the streaming features (no
//! Python): one local-linear-trend step, `filter` over 100k points, one feature bar.
//!
//!     cargo bench --bench kalman

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use _core::features::{FeatureConfig, StreamingFeatures};
use _core::kalman::KalmanFilter;

/// A deterministic random-walk log price with noise (no data files needed here; the Python
/// comparison in compare_kalman.py uses the real BTC closes).
fn log_prices(n: usize) -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut level = 11.0;
    (0..n)
        .map(|_| {
            level += 1e-3 * uniform();
            level + 3e-4 * uniform()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let zs = log_prices(100_000);
    let llt = KalmanFilter::local_linear_trend(1e-6, 1e-8, 1e-5, [zs[0], 0.0], [1e-4, 1e-6])
        .expect("valid model");

    c.bench_function("kalman_llt_step", |b| {
        let mut kf = llt.clone();
        let mut i = 0;
        b.iter(|| {
            kf.step_scalar(black_box(zs[i % zs.len()])).expect("finite");
            i += 1;
        })
    });

    let mut group = c.benchmark_group("kalman_filter_100k");
    group.throughput(Throughput::Elements(zs.len() as u64));
    group.sample_size(20);
    group.bench_function("llt", |b| {
        let mut states = vec![0.0; 2 * zs.len()];
        let mut variances = vec![0.0; 2 * zs.len()];
        b.iter_batched(
            || llt.clone(),
            |mut kf| kf.filter(&zs, &mut states, &mut variances).expect("finite"),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    c.bench_function("streaming_features_bar", |b| {
        let mut f = StreamingFeatures::new(FeatureConfig::default()).expect("valid config");
        let mut out = vec![0.0; f.n_features()];
        let mut i = 0;
        b.iter(|| {
            let price = zs[i % zs.len()].exp();
            f.update(black_box(price), black_box(1.5), &mut out)
                .expect("valid bar");
            i += 1;
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
