//! Small dense matrices on the stack, for the filter's hot path: no allocation, runtime
//! dimensions up to `MAX_DIM`. Only the handful of operations a Kalman step needs.

use crate::errors::{CoreError, CoreResult};

/// Largest state or observation dimension. Filters here are "small" (level, trend, a few
/// factors); 8 keeps a matrix at 512 bytes so a whole step stays in registers and L1.
pub const MAX_DIM: usize = 8;

/// A `rows x cols` matrix stored in a `D x D` array. The filter keeps its matrices at
/// `D = MAX_DIM` and runs each step at the smallest capacity that fits (1, 2, 4 or 8), so that
/// small filters work on small arrays; every loop runs over the runtime `rows`/`cols` in the
/// same order whatever `D`, so results are bit-identical across capacities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mat<const D: usize = MAX_DIM> {
    pub rows: usize,
    pub cols: usize,
    pub a: [[f64; D]; D],
}

impl<const D: usize> Mat<D> {
    #[inline]
    pub fn zeros(rows: usize, cols: usize) -> Self {
        debug_assert!(rows <= D && cols <= D);
        Mat {
            rows,
            cols,
            a: [[0.0; D]; D],
        }
    }

    /// Copies this matrix into `dst` (another capacity, which must hold it) in place: only the
    /// used block is written, so no full-array copy or zeroing on the hot path.
    #[inline(always)]
    pub fn copy_into<const E: usize>(&self, dst: &mut Mat<E>) {
        dst.rows = self.rows;
        dst.cols = self.cols;
        for i in 0..self.rows {
            dst.a[i][..self.cols].copy_from_slice(&self.a[i][..self.cols]);
        }
    }

    /// The same matrix at another capacity `E` (which must hold it).
    #[inline(always)]
    pub fn resized<const E: usize>(&self) -> Mat<E> {
        let mut out = Mat::<E>::zeros(self.rows, self.cols);
        for i in 0..self.rows {
            out.a[i][..self.cols].copy_from_slice(&self.a[i][..self.cols]);
        }
        out
    }

    #[inline]
    pub fn identity(n: usize) -> Self {
        let mut m = Self::zeros(n, n);
        for i in 0..n {
            m.a[i][i] = 1.0;
        }
        m
    }

    pub fn diag(values: &[f64]) -> Self {
        let mut m = Self::zeros(values.len(), values.len());
        for (i, v) in values.iter().enumerate() {
            m.a[i][i] = *v;
        }
        m
    }

    /// From row-major data; the caller has checked `data.len() == rows * cols`.
    pub fn from_row_major(rows: usize, cols: usize, data: &[f64]) -> Self {
        let mut m = Self::zeros(rows, cols);
        for i in 0..rows {
            m.a[i][..cols].copy_from_slice(&data[i * cols..(i + 1) * cols]);
        }
        m
    }

    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        (0..self.rows)
            .map(|i| self.a[i][..self.cols].to_vec())
            .collect()
    }

    pub fn write_row_major(&self, out: &mut [f64]) {
        for i in 0..self.rows {
            out[i * self.cols..(i + 1) * self.cols].copy_from_slice(&self.a[i][..self.cols]);
        }
    }

    pub fn from_rows(rows: &[Vec<f64>], what: &str) -> CoreResult<Self> {
        let r = rows.len();
        let c = rows.first().map_or(0, Vec::len);
        if r == 0 || c == 0 || r > D || c > D {
            return Err(CoreError::invalid(format!(
                "{what} must be a non-empty matrix of at most {D}x{D}, got {r}x{c}"
            )));
        }
        if rows.iter().any(|row| row.len() != c) {
            return Err(CoreError::invalid(format!(
                "{what} has rows of unequal length"
            )));
        }
        let mut m = Self::zeros(r, c);
        for (i, row) in rows.iter().enumerate() {
            m.a[i][..c].copy_from_slice(row);
        }
        Ok(m)
    }

    #[inline(always)]
    pub fn mul(&self, b: &Self) -> Self {
        debug_assert_eq!(self.cols, b.rows);
        let mut out = Self::zeros(self.rows, b.cols);
        for i in 0..self.rows {
            for k in 0..self.cols {
                let aik = self.a[i][k];
                for j in 0..b.cols {
                    out.a[i][j] += aik * b.a[k][j];
                }
            }
        }
        out
    }

    /// `self * b'` without forming the transpose.
    #[inline(always)]
    pub fn mul_t(&self, b: &Self) -> Self {
        debug_assert_eq!(self.cols, b.cols);
        let mut out = Self::zeros(self.rows, b.rows);
        for i in 0..self.rows {
            for j in 0..b.rows {
                let mut s = 0.0;
                for k in 0..self.cols {
                    s += self.a[i][k] * b.a[j][k];
                }
                out.a[i][j] = s;
            }
        }
        out
    }

    #[inline(always)]
    pub fn mul_vec(&self, v: &[f64; D]) -> [f64; D] {
        let mut out = [0.0; D];
        for (i, o) in out.iter_mut().enumerate().take(self.rows) {
            let mut s = 0.0;
            for (k, vk) in v.iter().enumerate().take(self.cols) {
                s += self.a[i][k] * vk;
            }
            *o = s;
        }
        out
    }

    #[inline(always)]
    pub fn add(&self, b: &Self) -> Self {
        let mut out = *self;
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.a[i][j] += b.a[i][j];
            }
        }
        out
    }

    #[inline(always)]
    pub fn sub(&self, b: &Self) -> Self {
        let mut out = *self;
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.a[i][j] -= b.a[i][j];
            }
        }
        out
    }

    /// Replaces a square matrix by its symmetric part, removing the rounding asymmetry that
    /// products like `A P A'` leave behind (a covariance must stay exactly symmetric).
    #[inline(always)]
    pub fn symmetrize(&mut self) {
        for i in 0..self.rows {
            for j in (i + 1)..self.cols {
                let s = 0.5 * (self.a[i][j] + self.a[j][i]);
                self.a[i][j] = s;
                self.a[j][i] = s;
            }
        }
    }

    #[inline]
    pub fn is_finite(&self) -> bool {
        (0..self.rows).all(|i| self.a[i][..self.cols].iter().all(|v| v.is_finite()))
    }

    /// Largest |a_ij - a_ji| relative to the largest |a_ij| (0 for an exactly symmetric matrix).
    pub fn asymmetry(&self) -> f64 {
        let mut worst: f64 = 0.0;
        let mut scale: f64 = 0.0;
        for i in 0..self.rows {
            for j in 0..self.cols {
                scale = scale.max(self.a[i][j].abs());
                worst = worst.max((self.a[i][j] - self.a[j][i]).abs());
            }
        }
        if scale == 0.0 {
            0.0
        } else {
            worst / scale
        }
    }

    /// Cholesky factor L (lower, `self = L L'`) of a symmetric matrix, or None when it is not
    /// positive definite. `tolerance` lets pivots down to `-tolerance * max diagonal` count as
    /// zero, so that positive semi-definite input (a zero process noise) is accepted.
    pub fn cholesky(&self, tolerance: f64) -> Option<Self> {
        let n = self.rows;
        let max_diag = (0..n).map(|i| self.a[i][i].abs()).fold(0.0, f64::max);
        let floor = tolerance * max_diag;
        let mut l = Self::zeros(n, n);
        for j in 0..n {
            let mut d = self.a[j][j];
            for k in 0..j {
                d -= l.a[j][k] * l.a[j][k];
            }
            if d.is_nan() || d < -floor || (tolerance == 0.0 && d <= 0.0) {
                return None;
            }
            let ljj = d.max(0.0).sqrt();
            l.a[j][j] = ljj;
            for i in (j + 1)..n {
                let mut s = self.a[i][j];
                for k in 0..j {
                    s -= l.a[i][k] * l.a[j][k];
                }
                l.a[i][j] = if ljj > 0.0 { s / ljj } else { 0.0 };
            }
        }
        Some(l)
    }

    /// Inverse and log-determinant of a symmetric positive definite matrix, through its
    /// Cholesky factor. None when the matrix is not positive definite.
    #[inline]
    pub fn spd_inverse_logdet(&self) -> Option<(Self, f64)> {
        let n = self.rows;
        if n == 1 {
            let s = self.a[0][0];
            if s.is_nan() || s <= 0.0 {
                return None;
            }
            let mut inv = Self::zeros(1, 1);
            inv.a[0][0] = 1.0 / s;
            return Some((inv, s.ln()));
        }
        let l = self.cholesky(0.0)?;
        let mut logdet = 0.0;
        for i in 0..n {
            logdet += 2.0 * l.a[i][i].ln();
        }
        // Invert L (lower triangular), then inv = L^-T L^-1.
        let mut li = Self::zeros(n, n);
        for j in 0..n {
            li.a[j][j] = 1.0 / l.a[j][j];
            for i in (j + 1)..n {
                let mut s = 0.0;
                for k in j..i {
                    s -= l.a[i][k] * li.a[k][j];
                }
                li.a[i][j] = s / l.a[i][i];
            }
        }
        let mut inv = Self::zeros(n, n);
        for i in 0..n {
            for j in 0..=i {
                let mut s = 0.0;
                for k in i..n {
                    s += li.a[k][i] * li.a[k][j];
                }
                inv.a[i][j] = s;
                inv.a[j][i] = s;
            }
        }
        Some((inv, logdet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spd_inverse_times_matrix_is_identity() {
        let m: Mat = Mat::from_row_major(3, 3, &[4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0]);
        let (inv, logdet) = m.spd_inverse_logdet().unwrap();
        let prod = m.mul(&inv);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((prod.a[i][j] - want).abs() < 1e-14);
            }
        }
        let det = 4.0 * (3.0 * 2.0 - 0.04) - 1.0 * (2.0 - 0.1) + 0.5 * (0.2 - 1.5);
        assert!((logdet - f64::ln(det)).abs() < 1e-13);
    }

    #[test]
    fn cholesky_rejects_indefinite_and_accepts_semidefinite_with_tolerance() {
        let indefinite: Mat = Mat::from_row_major(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(indefinite.cholesky(1e-12).is_none());
        let semidefinite: Mat = Mat::from_row_major(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        assert!(semidefinite.cholesky(0.0).is_none());
        assert!(semidefinite.cholesky(1e-12).is_some());
    }
}
