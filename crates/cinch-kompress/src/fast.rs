//! A hand-written ModernBERT encoder for the CPU ([`crate::Precision::FastInt8`]), faster than
//! the candle graph because it does less and does it in place.
//!
//! Design:
//!
//! - **Buffers.** The working buffers (residual stream, normed input, `Wqkv` output,
//!   attention output, MLP activations, quantized activations) are made once, reused by every
//!   layer, and kept for the next pass (one set per concurrent caller); nothing is allocated
//!   per operation.
//! - **int8 linear layers.** Weights are quantized symmetrically per output channel
//!   (`scale = max|w| / 127`) and packed for AVX-512 VNNI: blocks of 16 output columns, and in
//!   each block, for every group of 4 consecutive input positions, 16 lanes of 4 bytes (the input
//!   dimension is padded to a multiple of 4 with zero weights). Activations are quantized per
//!   row on the fly, symmetrically to i8, then shifted by +128 to u8 since `vpdpbusd` multiplies
//!   unsigned by signed bytes; the shift is taken back exactly by subtracting `128 · colsum(w)`.
//!   So `y = s_row · s_col · (acc − 128 · colsum) + bias`. The micro-kernel holds 8 rows × 32
//!   columns of i32 accumulators (16 zmm registers); rows and columns that do not fill a tile
//!   take narrower variants and masked stores. Threads split the output columns.
//! - **Attention.** Queries go in blocks of 32 rows, the (head, block) pairs split between
//!   threads. A sliding-window layer computes, for a block, only the keys that some row of the
//!   block can see, and each row's softmax runs over its own window only (no n × n scores, no
//!   mask). In the int8 mode the scores `q kᵀ` use the same int8 kernel (queries quantized per
//!   row, keys per key, the keys of each head packed as the "weights"); the softmax and the
//!   product with `v` stay in f32, on a register-blocked AVX-512 f32 kernel (8 rows × 32
//!   columns of FMA accumulators), since quantizing probabilities loses the small ones.
//! - **Element-wise functions** are branch-free polynomial approximations that the compiler
//!   vectorizes inside `#[target_feature(enable = "avx512f")]` wrappers: `exp` (range
//!   reduction by powers of two, degree-6 polynomial, relative error about 2e-7) and `erf` (an
//!   odd rational approximation on [-4, 4], absolute error under 1e-6) for the exact GELU.
//! - **Portable fallback.** Without AVX-512 VNNI (or AVX-512F for the f32 parts) the same
//!   algorithms run as plain Rust loops; the int8 results are bit-identical (integer sums).
//!
//! An f32-weights mode ([`crate::Precision::FastF32`]) runs the same code with the f32 kernel in
//! place of the int8 one: a reference for the int8 path's accuracy.

use crate::config::{Activation, ModernBertConfig};
use candle_core::{DType, Result, Tensor};
use std::collections::HashMap;

/// Tile height of the micro-kernels.
const MR: usize = 8;
/// Tile width of the micro-kernels (two zmm registers of 16 lanes).
const NR: usize = 32;
/// Query rows per attention task.
const QB: usize = 32;

fn threads() -> usize {
    candle_core::utils::get_num_threads().max(1)
}

/// Whether the CPU has AVX-512 F, BW and VNNI (the int8 kernel).
pub(crate) fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the CPU has AVX-512 F (the f32 kernel and the element-wise functions).
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A raw pointer that threads writing disjoint parts of one buffer may share.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: every user writes through it to parts of the buffer no other thread touches.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// The pointer (a method, so that closures capture the whole `SharedMut`).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Runs `work` on `threads` threads (the caller's among them).
fn parallel(threads: usize, work: impl Fn() + Sync) {
    if threads <= 1 {
        work();
        return;
    }
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(&work);
        }
        work();
    });
}

/// Hands out the items `0..total` one at a time to whichever thread asks first, so that a
/// thread on a core some other process keeps busy takes fewer (the machine may be shared).
struct Claims {
    next: std::sync::atomic::AtomicUsize,
    total: usize,
}

impl Claims {
    fn new(total: usize) -> Self {
        Claims {
            next: std::sync::atomic::AtomicUsize::new(0),
            total,
        }
    }

    /// The next unclaimed item.
    fn claim(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (i < self.total).then_some(i)
    }
}

// ---------------------------------------------------------------------------------------------
// Element-wise functions.

/// `e^x`, branch-free: `x = n ln2 + r`, `|r| <= ln2/2`, `e^r` by a degree-6 polynomial, `2^n`
/// built in the exponent bits. Inputs below -87 give about 1e-38 rather than 0.
#[inline(always)]
pub(crate) fn exp_approx(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x / ln2 to the nearest integer with the 1.5 · 2^23 trick (no libm call).
    const MAGIC: f32 = 12_582_912.0;
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    // n sits in the low mantissa bits of t (a float→int cast would not vectorize).
    let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let bits = (ni.wrapping_add(127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// `erf(x)`: an odd rational approximation on [-4, 4] (outside, ±1 to f32 precision).
#[inline(always)]
pub(crate) fn erf_approx(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906e-4;
    p = p * x2 + -2.954_600_2e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    x * p / q
}

/// The exact GELU, `x · Φ(x)`.
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_approx(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    // tanh(u) = 1 - 2 / (e^{2u} + 1)
    let u = 0.797_884_6 * (x + 0.044_715 * x * x * x);
    let th = 1.0 - 2.0 / (exp_approx(2.0 * u) + 1.0);
    0.5 * x * (1.0 + th)
}

#[inline(always)]
fn activate_one(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Gelu => gelu_erf(x),
        Activation::GeluTanh => gelu_tanh(x),
        Activation::Relu => x.max(0.0),
        Activation::Silu => x / (1.0 + exp_approx(-x)),
    }
}

/// Runs `$body` compiled with AVX-512F when the CPU has it, as plain code otherwise.
macro_rules! with_avx512 {
    ($simd:expr, fn $name:ident($($arg:ident : $ty:ty),*) $body:block) => {{
        #[inline(always)]
        fn generic($($arg: $ty),*) $body
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        unsafe fn fast($($arg: $ty),*) { generic($($arg),*) }
        #[cfg(target_arch = "x86_64")]
        if $simd {
            // SAFETY: the caller checked that the CPU has AVX-512F.
            unsafe { fast($($arg),*) }
        } else {
            generic($($arg),*)
        }
        #[cfg(not(target_arch = "x86_64"))]
        { let _ = $simd; generic($($arg),*) }
    }};
}

/// `out[i] = act(a[i]) · b[i]` (the GeGLU), row by row from `[in | gate]` rows.
fn geglu(simd: bool, act: Activation, wi: &[f32], out: &mut [f32], inter: usize) {
    with_avx512!(
        simd,
        fn run(act: Activation, wi: &[f32], out: &mut [f32], inter: usize) {
            for (row, o) in wi.chunks_exact(2 * inter).zip(out.chunks_exact_mut(inter)) {
                let (a, g) = row.split_at(inter);
                for ((o, &a), &g) in o.iter_mut().zip(a).zip(g) {
                    *o = activate_one(act, a) * g;
                }
            }
        }
    )
}

/// Applies `act` in place.
fn activate_all(simd: bool, act: Activation, xs: &mut [f32]) {
    with_avx512!(
        simd,
        fn run(act: Activation, xs: &mut [f32]) {
            for x in xs.iter_mut() {
                *x = activate_one(act, *x);
            }
        }
    )
}

/// Sum of a slice with 16 partial sums (vectorizes).
#[inline(always)]
fn sum16(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = xs.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[inline(always)]
fn max16(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let chunks = xs.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    acc.iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

/// `row = softmax(row · scale)`.
fn softmax(simd: bool, row: &mut [f32], scale: f32) {
    with_avx512!(
        simd,
        fn run(row: &mut [f32], scale: f32) {
            let max = max16(row);
            for x in row.iter_mut() {
                *x = exp_approx((*x - max) * scale);
            }
            let inv = 1.0 / sum16(row);
            for x in row.iter_mut() {
                *x *= inv;
            }
        }
    )
}

/// A LayerNorm over rows of `weight.len()`; `out` may be a separate buffer.
fn layer_norm(simd: bool, norm: &Norm, xs: &[f32], out: &mut [f32]) {
    with_avx512!(
        simd,
        fn run(norm: &Norm, xs: &[f32], out: &mut [f32]) {
            let h = norm.weight.len();
            for (x, o) in xs.chunks_exact(h).zip(out.chunks_exact_mut(h)) {
                let mean = sum16(x) / h as f32;
                let mut acc = [0f32; 16];
                let chunks = x.chunks_exact(16);
                let rest = chunks.remainder();
                for c in chunks {
                    for (a, &v) in acc.iter_mut().zip(c) {
                        *a += (v - mean) * (v - mean);
                    }
                }
                let var = (acc.iter().sum::<f32>()
                    + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>())
                    / h as f32;
                let inv = 1.0 / (var + norm.eps).sqrt();
                match &norm.bias {
                    Some(b) => {
                        for (((o, &v), &w), &b) in o.iter_mut().zip(x).zip(&norm.weight).zip(b) {
                            *o = (v - mean) * inv * w + b;
                        }
                    }
                    None => {
                        for ((o, &v), &w) in o.iter_mut().zip(x).zip(&norm.weight) {
                            *o = (v - mean) * inv * w;
                        }
                    }
                }
            }
        }
    )
}

// ---------------------------------------------------------------------------------------------
// int8 GEMM.

/// Lanes of one packed column block.
const LANES: usize = 16;

/// Weights of an int8 linear layer, packed for the VNNI kernel.
#[derive(Default)]
pub(crate) struct QWeight {
    n: usize,
    k: usize,
    /// `k` rounded up to a multiple of 4.
    kp: usize,
    /// Blocks of 16 columns: block `b`, group `g` of 4 inputs, lane `l`, byte `t` at
    /// `((b · kp/4 + g) · 16 + l) · 4 + t`.
    packed: Vec<i8>,
    /// Per column (padded to whole blocks): the weight scale.
    scale: Vec<f32>,
    /// Per column: `128 · Σ_k q[col][k]`.
    corr: Vec<i32>,
}

impl QWeight {
    /// Quantizes `w`, `[n outputs][k inputs]` row-major.
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k);
        let kp = k.div_ceil(4) * 4;
        let blocks = n.div_ceil(LANES);
        let mut packed = vec![0i8; blocks * LANES * kp];
        let mut scale = vec![0f32; blocks * LANES];
        let mut corr = vec![0i32; blocks * LANES];
        for j in 0..n {
            let row = &w[j * k..(j + 1) * k];
            let amax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = amax / 127.0;
            let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
            scale[j] = s;
            let (b, l) = (j / LANES, j % LANES);
            let mut sum = 0i32;
            for (kk, &v) in row.iter().enumerate() {
                // Round to nearest with the 1.5 · 2^23 trick (|v · inv| <= 127).
                const MAGIC: f32 = 12_582_912.0;
                let q = ((v * inv + MAGIC) - MAGIC) as i8;
                sum += q as i32;
                let g = kk / 4;
                packed[((b * (kp / 4) + g) * LANES + l) * 4 + kk % 4] = q;
            }
            corr[j] = 128 * sum;
        }
        QWeight {
            n,
            k,
            kp,
            packed,
            scale,
            corr,
        }
    }

    fn blocks(&self) -> usize {
        self.n.div_ceil(LANES)
    }
}

/// Activations quantized per row: `u8 = round(x / scale) + 128`, rows of `kp` bytes (the
/// padding holds 128, against zero weights).
#[derive(Default)]
struct QAct {
    data: Vec<u8>,
    scale: Vec<f32>,
    kp: usize,
}

/// Quantizes `m` rows of `k` values, `ldx` apart in `x`, into `q` (rows of `kp` bytes).
fn quantize_rows(simd: bool, x: &[f32], m: usize, k: usize, ldx: usize, kp: usize, q: &mut QAct) {
    assert!(m == 0 || x.len() >= (m - 1) * ldx + k);
    q.kp = kp;
    q.data.clear();
    q.data.resize(m * kp, 128);
    q.scale.clear();
    q.scale.resize(m, 0.0);
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: the caller checked AVX-512 F and BW.
        unsafe { quantize_rows_avx512(x, m, k, ldx, kp, q) };
        return;
    }
    let _ = simd;
    for i in 0..m {
        let row = &x[i * ldx..i * ldx + k];
        let amax = row.iter().fold(0f32, |a, v| a.max(v.abs()));
        let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        q.scale[i] = amax / 127.0;
        for (d, &v) in q.data[i * kp..i * kp + k].iter_mut().zip(row) {
            *d = ((v * inv).round_ties_even().clamp(-127.0, 127.0) as i32 + 128) as u8;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_rows_avx512(x: &[f32], m: usize, k: usize, ldx: usize, kp: usize, q: &mut QAct) {
    use std::arch::x86_64::*;
    let full = k / 16 * 16;
    let tail = (k - full) as u32;
    let tail_mask: __mmask16 = ((1u32 << tail) - 1) as u16;
    for i in 0..m {
        let row = x.as_ptr().add(i * ldx);
        let mut mx = _mm512_setzero_ps();
        let mut j = 0;
        while j < full {
            mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(row.add(j))));
            j += 16;
        }
        if tail > 0 {
            mx = _mm512_max_ps(
                mx,
                _mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask, row.add(full))),
            );
        }
        let amax = _mm512_reduce_max_ps(mx);
        let inv = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        q.scale[i] = amax / 127.0;
        let vinv = _mm512_set1_ps(inv);
        let off = _mm512_set1_epi32(128);
        let out = q.data.as_mut_ptr().add(i * kp);
        let conv = |v: __m512| {
            // Round to nearest even (the default rounding mode), shift, narrow with
            // unsigned saturation.
            let qi = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, vinv)), off);
            _mm512_cvtusepi32_epi8(qi)
        };
        let mut j = 0;
        while j < full {
            let b = conv(_mm512_loadu_ps(row.add(j)));
            _mm_storeu_si128(out.add(j) as *mut __m128i, b);
            j += 16;
        }
        if tail > 0 {
            let b = conv(_mm512_maskz_loadu_ps(tail_mask, row.add(full)));
            _mm_mask_storeu_epi8(out.add(full) as *mut i8, tail_mask, b);
        }
    }
}

/// Where a tile of the int8 GEMM goes: column `c` of row `r` at `ptr + (r − row_base) · ldc +
/// c − col_base`, added to what is there when `add`.
#[derive(Clone, Copy)]
struct Out {
    ptr: SharedMut,
    ldc: usize,
    row_base: usize,
    col_base: usize,
    add: bool,
}

/// `y (+)= x Wᵀ (+ bias)` for `x` of `m` rows of `w.k`, `y` of `m` rows of `w.n`.
#[allow(clippy::too_many_arguments)]
fn qgemm(
    simd: bool,
    x: &[f32],
    m: usize,
    w: &QWeight,
    bias: Option<&[f32]>,
    y: &mut [f32],
    add: bool,
    q: &mut QAct,
) {
    assert!(x.len() >= m * w.k && y.len() >= m * w.n);
    quantize_rows(simd, x, m, w.k, w.k, w.kp, q);
    let q = &*q;
    let out = Out {
        ptr: SharedMut(y.as_mut_ptr()),
        ldc: w.n,
        row_base: 0,
        col_base: 0,
        add,
    };
    let pairs = w.blocks().div_ceil(2);
    let claims = Claims::new(pairs);
    parallel(threads().min(pairs), || {
        while let Some(p) = claims.claim() {
            let b0 = 2 * p;
            let c0 = b0 * LANES;
            let cols = (w.n - c0).min(NR);
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(MR);
                // SAFETY: rows [i, i+rows) and columns [c0, c0+cols) are inside y and
                // belong to this thread alone; the CPU check is `simd`.
                unsafe { qtile(simd, q, w, bias, i, rows, b0, cols, out) };
                i += rows;
            }
        }
    });
}

/// One tile of the int8 GEMM: `rows` rows from `i`, `cols` (≤ 32) columns from block `b0`.
#[allow(clippy::too_many_arguments)]
unsafe fn qtile(
    simd: bool,
    q: &QAct,
    w: &QWeight,
    bias: Option<&[f32]>,
    i: usize,
    rows: usize,
    b0: usize,
    cols: usize,
    out: Out,
) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        macro_rules! go {
            ($r:literal) => {
                if cols > LANES {
                    vnni::tile::<$r, 2>(q, w, bias, i, b0, cols, out)
                } else {
                    vnni::tile::<$r, 1>(q, w, bias, i, b0, cols, out)
                }
            };
        }
        match rows {
            8 => go!(8),
            7 => go!(7),
            6 => go!(6),
            5 => go!(5),
            4 => go!(4),
            3 => go!(3),
            2 => go!(2),
            _ => go!(1),
        }
        return;
    }
    let _ = simd;
    let g4 = w.kp / 4;
    let block = g4 * LANES * 4;
    for r in i..i + rows {
        let a = &q.data[r * q.kp..(r + 1) * q.kp];
        for c0 in (b0 * LANES..b0 * LANES + cols).step_by(LANES) {
            // One block of 16 columns, lane by lane (the compiler vectorizes the lanes).
            let packed = &w.packed[c0 / LANES * block..(c0 / LANES + 1) * block];
            let mut acc = [0i32; LANES];
            for (g, group) in packed.chunks_exact(LANES * 4).enumerate() {
                let a4 = &a[g * 4..g * 4 + 4];
                for (acc, wl) in acc.iter_mut().zip(group.chunks_exact(4)) {
                    for t in 0..4 {
                        *acc += a4[t] as i32 * wl[t] as i32;
                    }
                }
            }
            for (l, &acc) in acc.iter().enumerate().take(b0 * LANES + cols - c0) {
                let c = c0 + l;
                let mut v = q.scale[r] * w.scale[c] * (acc - w.corr[c]) as f32;
                if let Some(bias) = bias {
                    v += bias[c];
                }
                let p = out
                    .ptr
                    .get()
                    .add((r - out.row_base) * out.ldc + c - out.col_base);
                *p = if out.add { *p + v } else { v };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{Out, QAct, QWeight, LANES};
    use std::arch::x86_64::*;

    #[inline(always)]
    fn mask(cols: usize) -> __mmask16 {
        if cols >= 16 {
            0xFFFF
        } else {
            ((1u32 << cols) - 1) as u16
        }
    }

    /// `R` rows × `C` blocks of 16 columns.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile<const R: usize, const C: usize>(
        q: &QAct,
        w: &QWeight,
        bias: Option<&[f32]>,
        i: usize,
        b0: usize,
        cols: usize,
        out: Out,
    ) {
        let g4 = w.kp / 4;
        let a = q.data.as_ptr().add(i * q.kp);
        let lda = q.kp;
        let bstride = g4 * LANES * 4;
        let b = w.packed.as_ptr().add(b0 * bstride);
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        for g in 0..g4 {
            let mut wv = [_mm512_setzero_si512(); C];
            for (j, wv) in wv.iter_mut().enumerate() {
                *wv = _mm512_loadu_si512(b.add(j * bstride + g * 64) as *const _);
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_epi32((a.add(r * lda + g * 4) as *const i32).read_unaligned());
                for (acc, &wv) in acc.iter_mut().zip(&wv) {
                    *acc = _mm512_dpbusd_epi32(*acc, av, wv);
                }
            }
        }
        let c0 = b0 * LANES;
        for (j, _) in acc[0].iter().enumerate() {
            let c = c0 + j * LANES;
            let m = mask(cols - j * LANES);
            let corr = _mm512_loadu_si512(w.corr.as_ptr().add(c) as *const _);
            let sw = _mm512_loadu_ps(w.scale.as_ptr().add(c));
            let bv = match bias {
                Some(bias) => _mm512_maskz_loadu_ps(m, bias.as_ptr().add(c)),
                None => _mm512_setzero_ps(),
            };
            for (r, acc) in acc.iter().enumerate() {
                let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[j], corr));
                let s = _mm512_mul_ps(sw, _mm512_set1_ps(q.scale[i + r]));
                let mut y = _mm512_fmadd_ps(v, s, bv);
                let p = out
                    .ptr
                    .get()
                    .add((i + r - out.row_base) * out.ldc + c - out.col_base);
                if out.add {
                    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, p));
                }
                _mm512_mask_storeu_ps(p, m, y);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// f32 GEMM.

/// `C[m×n] (+)= A[m×k] · B[k×n]`, row-major with leading dimensions; one thread.
///
/// # Safety
/// The pointers must cover the matrices their strides describe, `simd` only with AVX-512F.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm(
    simd: bool,
    m: usize,
    n: usize,
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    add: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        let mut j = 0;
        while j < n {
            let cols = (n - j).min(NR);
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(MR);
                let (a, b, c) = (a.add(i * lda), b.add(j), c.add(i * ldc + j));
                macro_rules! go {
                    ($r:literal) => {
                        if cols > 16 {
                            avx512::tile::<$r, 2>(k, a, lda, b, ldb, c, ldc, cols, add)
                        } else {
                            avx512::tile::<$r, 1>(k, a, lda, b, ldb, c, ldc, cols, add)
                        }
                    };
                }
                match rows {
                    8 => go!(8),
                    7 => go!(7),
                    6 => go!(6),
                    5 => go!(5),
                    4 => go!(4),
                    3 => go!(3),
                    2 => go!(2),
                    _ => go!(1),
                }
                i += rows;
            }
            j += cols;
        }
        return;
    }
    let _ = simd;
    for i in 0..m {
        let crow = std::slice::from_raw_parts_mut(c.add(i * ldc), n);
        if !add {
            crow.fill(0.0);
        }
        for kk in 0..k {
            let av = *a.add(i * lda + kk);
            let brow = std::slice::from_raw_parts(b.add(kk * ldb), n);
            for (cv, &bv) in crow.iter_mut().zip(brow) {
                *cv += av * bv;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile<const R: usize, const C: usize>(
        k: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        cols: usize,
        add: bool,
    ) {
        let mut masks = [0u16; C];
        for (j, m) in masks.iter_mut().enumerate() {
            let w = cols.saturating_sub(j * 16).min(16);
            *m = ((1u32 << w) - 1) as u16;
        }
        let mut acc = [[_mm512_setzero_ps(); C]; R];
        for kk in 0..k {
            let mut bv = [_mm512_setzero_ps(); C];
            for (j, bv) in bv.iter_mut().enumerate() {
                *bv = _mm512_maskz_loadu_ps(masks[j], b.add(kk * ldb + j * 16));
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * lda + kk));
                for (acc, &bv) in acc.iter_mut().zip(&bv) {
                    *acc = _mm512_fmadd_ps(av, bv, *acc);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (j, &v) in acc.iter().enumerate() {
                let p = c.add(r * ldc + j * 16);
                let v = if add {
                    _mm512_add_ps(v, _mm512_maskz_loadu_ps(masks[j], p))
                } else {
                    v
                };
                _mm512_mask_storeu_ps(p, masks[j], v);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Linear layers.

/// The weights of one linear layer, int8 or f32.
enum Weights {
    Int8(QWeight),
    /// `Wᵀ`, `[k][n]`.
    F32(Vec<f32>),
}

/// `y = x Wᵀ + b` on the hand-written kernels.
pub(crate) struct FastLinear {
    n: usize,
    k: usize,
    weights: Weights,
    bias: Option<Vec<f32>>,
}

impl FastLinear {
    /// From `w`, `[n outputs][k inputs]`.
    pub(crate) fn new(w: &[f32], n: usize, k: usize, bias: Option<Vec<f32>>, int8: bool) -> Self {
        let weights = if int8 {
            Weights::Int8(QWeight::new(w, n, k))
        } else {
            let mut t = vec![0f32; k * n];
            for j in 0..n {
                for kk in 0..k {
                    t[kk * n + j] = w[j * k + kk];
                }
            }
            Weights::F32(t)
        };
        FastLinear {
            n,
            k,
            weights,
            bias,
        }
    }

    /// `y (+)= x Wᵀ + b` over `m` rows.
    fn forward(&self, cpu: Cpu, x: &[f32], m: usize, y: &mut [f32], add: bool, q: &mut QAct) {
        match &self.weights {
            Weights::Int8(w) => qgemm(cpu.vnni, x, m, w, self.bias.as_deref(), y, add, q),
            Weights::F32(wt) => {
                assert!(x.len() >= m * self.k && y.len() >= m * self.n);
                let out = SharedMut(y.as_mut_ptr());
                const ROWS: usize = 4 * MR;
                let claims = Claims::new(m.div_ceil(ROWS));
                parallel(threads().min(m.div_ceil(ROWS)), || {
                    while let Some(item) = claims.claim() {
                        let (r0, r1) = (item * ROWS, ((item + 1) * ROWS).min(m));
                        // SAFETY: rows [r0, r1) are this thread's; the sizes were checked.
                        unsafe {
                            sgemm(
                                cpu.avx512,
                                r1 - r0,
                                self.n,
                                self.k,
                                x.as_ptr().add(r0 * self.k),
                                self.k,
                                wt.as_ptr(),
                                self.n,
                                out.get().add(r0 * self.n),
                                self.n,
                                add,
                            )
                        };
                        if let Some(b) = &self.bias {
                            for r in r0..r1 {
                                // SAFETY: as above.
                                let row = unsafe {
                                    std::slice::from_raw_parts_mut(
                                        out.get().add(r * self.n),
                                        self.n,
                                    )
                                };
                                for (y, b) in row.iter_mut().zip(b) {
                                    *y += b;
                                }
                            }
                        }
                    }
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The encoder.

/// What the CPU offers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cpu {
    vnni: bool,
    avx512: bool,
}

impl Cpu {
    pub(crate) fn detect() -> Self {
        Cpu {
            vnni: has_vnni(),
            avx512: has_avx512(),
        }
    }

    /// The portable code only.
    #[cfg(test)]
    pub(crate) fn portable() -> Self {
        Cpu {
            vnni: false,
            avx512: false,
        }
    }
}

/// A LayerNorm's parameters.
pub(crate) struct Norm {
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    eps: f32,
}

struct Layer {
    attn_norm: Option<Norm>,
    qkv: FastLinear,
    out: FastLinear,
    mlp_norm: Norm,
    wi: FastLinear,
    wo: FastLinear,
    sliding: bool,
}

/// The ModernBERT encoder on the hand-written kernels.
pub(crate) struct FastModernBert {
    config: ModernBertConfig,
    cpu: Cpu,
    /// `[vocab][hidden]`.
    embeddings: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    final_norm: Norm,
    /// Working buffers of earlier passes, for the next ones.
    scratch: std::sync::Mutex<Vec<Buffers>>,
    head: Option<FastHead>,
    /// Whether the linear layers and the attention scores run in int8.
    int8: bool,
}

/// Reads tensors by name as f32.
pub(crate) struct Source<'a> {
    tensors: &'a HashMap<String, Tensor>,
    prefix: String,
}

impl<'a> Source<'a> {
    /// Tensors under `prefix` (empty, or ending without the dot).
    pub(crate) fn new(tensors: &'a HashMap<String, Tensor>, prefix: &str) -> Self {
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}.")
        };
        Source { tensors, prefix }
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(&format!("{}{name}", self.prefix))
    }

    /// The tensor `name`, flattened, after checking its shape.
    pub(crate) fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let t = self
            .tensors
            .get(&full)
            .ok_or_else(|| candle_core::Error::Msg(format!("cannot find tensor {full}")))?;
        if t.dims() != shape {
            return Err(candle_core::Error::Msg(format!(
                "{full}: shape {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
    }

    fn norm(&self, name: &str, h: usize, c: &ModernBertConfig) -> Result<Norm> {
        Ok(Norm {
            weight: self.get(&format!("{name}.weight"), &[h])?,
            bias: if c.norm_bias {
                Some(self.get(&format!("{name}.bias"), &[h])?)
            } else {
                None
            },
            eps: c.norm_eps as f32,
        })
    }

    fn linear(&self, name: &str, k: usize, n: usize, bias: bool, int8: bool) -> Result<FastLinear> {
        let w = self.get(&format!("{name}.weight"), &[n, k])?;
        let b = if bias {
            Some(self.get(&format!("{name}.bias"), &[n])?)
        } else {
            None
        };
        Ok(FastLinear::new(&w, n, k, b, int8))
    }
}

/// The working buffers of one forward pass, kept between passes.
#[derive(Default)]
struct Buffers {
    x: Vec<f32>,
    normed: Vec<f32>,
    qkv: Vec<f32>,
    /// Keys transposed, `[head][head_dim][n]`.
    kt: Vec<f32>,
    attn: Vec<f32>,
    wi: Vec<f32>,
    act: Vec<f32>,
    q: QAct,
    heads: Vec<HeadQuant>,
}

impl FastModernBert {
    /// Loads the encoder from `src` (names from `embeddings.` / `layers.`); `int8` says
    /// whether the linear layers hold int8 weights.
    pub(crate) fn load(src: &Source, config: &ModernBertConfig, int8: bool) -> Result<Self> {
        let c = config;
        let h = c.hidden_size;
        let embeddings = src.get("embeddings.tok_embeddings.weight", &[c.vocab_size, h])?;
        let embed_norm = src.norm("embeddings.norm", h, c)?;
        let mut layers = Vec::with_capacity(c.sliding.len());
        for (i, &sliding) in c.sliding.iter().enumerate() {
            let p = format!("layers.{i}");
            let attn_norm = if src.has(&format!("{p}.attn_norm.weight")) {
                Some(src.norm(&format!("{p}.attn_norm"), h, c)?)
            } else {
                None
            };
            let inter = c.intermediate_size;
            layers.push(Layer {
                attn_norm,
                qkv: src.linear(&format!("{p}.attn.Wqkv"), h, 3 * h, c.attention_bias, int8)?,
                out: src.linear(&format!("{p}.attn.Wo"), h, h, c.attention_bias, int8)?,
                mlp_norm: src.norm(&format!("{p}.mlp_norm"), h, c)?,
                wi: src.linear(&format!("{p}.mlp.Wi"), h, 2 * inter, c.mlp_bias, int8)?,
                wo: src.linear(&format!("{p}.mlp.Wo"), inter, h, c.mlp_bias, int8)?,
                sliding,
            });
        }
        let final_norm = src.norm("final_norm", h, c)?;
        Ok(FastModernBert {
            config: c.clone(),
            cpu: Cpu::detect(),
            embeddings,
            embed_norm,
            layers,
            final_norm,
            scratch: std::sync::Mutex::new(Vec::new()),
            head: None,
            int8,
        })
    }

    #[cfg(test)]
    fn set_cpu(&mut self, cpu: Cpu) {
        self.cpu = cpu;
    }

    /// The last hidden state, `tokens × hidden` row-major, of one unpadded sequence of ids
    /// below the vocabulary size.
    pub(crate) fn forward(&self, ids: &[u32]) -> Vec<f32> {
        let c = &self.config;
        let (n, h, inter) = (ids.len(), c.hidden_size, c.intermediate_size);
        let heads = c.num_heads;
        let hd = h / heads;
        let cpu = self.cpu;
        let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let b = pool.get_or_insert_with(Buffers::default);
        let x = grow(&mut b.x, n * h);
        let normed = grow(&mut b.normed, n * h);
        let qkv = grow(&mut b.qkv, n * 3 * h);
        let kt = grow(&mut b.kt, n * h);
        let attn = grow(&mut b.attn, n * h);
        let wi = grow(&mut b.wi, n * 2 * inter);
        let act = grow(&mut b.act, n * inter);
        let q = &mut b.q;
        let int8_scores = self.int8 && hd.is_multiple_of(4);
        for (row, &id) in normed.chunks_exact_mut(h).zip(ids) {
            let id = id as usize;
            row.copy_from_slice(&self.embeddings[id * h..(id + 1) * h]);
        }
        layer_norm(cpu.avx512, &self.embed_norm, normed, x);
        let global_rope = rope_tables(n, hd, c.global_rope_theta);
        let local_rope = rope_tables(n, hd, c.local_rope_theta);
        for layer in &self.layers {
            let input: &[f32] = match &layer.attn_norm {
                Some(norm) => {
                    layer_norm(cpu.avx512, norm, x, normed);
                    normed
                }
                None => x,
            };
            layer.qkv.forward(cpu, input, n, qkv, false, q);
            let (rope, window) = if layer.sliding {
                (&local_rope, Some(c.local_attention / 2))
            } else {
                (&global_rope, None)
            };
            let quant = int8_scores.then_some(&mut b.heads);
            attention(cpu, n, heads, hd, qkv, kt, attn, rope, window, quant);
            layer.out.forward(cpu, attn, n, x, true, q);
            layer_norm(cpu.avx512, &layer.mlp_norm, x, normed);
            layer.wi.forward(cpu, normed, n, wi, false, q);
            geglu(cpu.avx512, c.activation, wi, act, inter);
            layer.wo.forward(cpu, act, n, x, true, q);
        }
        let mut out = vec![0f32; n * h];
        layer_norm(cpu.avx512, &self.final_norm, x, &mut out);
        if let Some(b) = pool {
            self.scratch
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(b);
        }
        out
    }
}

/// `v[..len]`, growing `v` if it is shorter.
fn grow(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// A classification head on the hand-written kernels.
pub(crate) enum FastHead {
    /// Kompress: a token head and a two-convolution span head.
    Kompress {
        token: FastLinear,
        /// The first convolution, one `h → channels` product per tap.
        taps: Vec<FastLinear>,
        span_in_bias: Vec<f32>,
        /// The second convolution's weights, `[channels][kernel]`.
        span_out: Vec<f32>,
        span_out_bias: f32,
        channels: usize,
    },
    /// transformers' `ModernBertForTokenClassification` head.
    ModernBert {
        dense: FastLinear,
        activation: Activation,
        norm: Norm,
        classifier: FastLinear,
    },
}

impl FastHead {
    /// The Kompress head from `token_head.*` and `span_conv.{0,2}.*`.
    pub(crate) fn kompress(
        src: &Source,
        hidden: usize,
        labels: usize,
        span: &crate::config::SpanConfig,
    ) -> Result<Self> {
        let (c, [k0, k1]) = (span.channels, span.kernels);
        let token = src.linear("token_head", hidden, labels, true, false)?;
        let w = src.get("span_conv.0.weight", &[c, hidden, k0])?;
        let taps = (0..k0)
            .map(|kk| {
                let tap: Vec<f32> = (0..c * hidden).map(|i| w[i * k0 + kk]).collect();
                FastLinear::new(&tap, c, hidden, None, false)
            })
            .collect();
        Ok(FastHead::Kompress {
            token,
            taps,
            span_in_bias: src.get("span_conv.0.bias", &[c])?,
            span_out: src.get("span_conv.2.weight", &[1, c, k1])?,
            span_out_bias: src.get("span_conv.2.bias", &[1])?[0],
            channels: c,
        })
    }

    /// The `head.*` and `classifier.*` of `ModernBertForTokenClassification`.
    pub(crate) fn modernbert(
        src: &Source,
        c: &ModernBertConfig,
        labels: usize,
        int8: bool,
    ) -> Result<Self> {
        let h = c.hidden_size;
        Ok(FastHead::ModernBert {
            dense: src.linear("head.dense", h, h, c.classifier_bias, int8)?,
            activation: c.classifier_activation,
            norm: src.norm("head.norm", h, c)?,
            classifier: src.linear("classifier", h, labels, true, false)?,
        })
    }

    /// Logits, `tokens × labels`, and the span head's output (after the sigmoid) where there
    /// is one, from the last hidden state `tokens × hidden`.
    fn forward(&self, cpu: Cpu, hidden: &[f32], n: usize) -> (Vec<f32>, Option<Vec<f32>>) {
        let mut q = QAct::default();
        match self {
            FastHead::Kompress {
                token,
                taps,
                span_in_bias,
                span_out,
                span_out_bias,
                channels,
            } => {
                let mut logits = vec![0f32; n * token.n];
                token.forward(cpu, hidden, n, &mut logits, false, &mut q);
                let (c, h) = (*channels, token.k);
                let mut mid: Vec<f32> = (0..n).flat_map(|_| span_in_bias.iter().copied()).collect();
                let pad = taps.len() / 2;
                for (kk, tap) in taps.iter().enumerate() {
                    // out[t] += x[t + kk − pad] · tapᵀ over the rows where x exists.
                    let (t0, s0) = if kk < pad {
                        (pad - kk, 0)
                    } else {
                        (0, kk - pad)
                    };
                    let rows = n.saturating_sub(t0.max(s0));
                    if rows > 0 {
                        tap.forward(
                            cpu,
                            &hidden[s0 * h..],
                            rows,
                            &mut mid[t0 * c..],
                            true,
                            &mut q,
                        );
                    }
                }
                activate_all(cpu.avx512, Activation::Gelu, &mut mid);
                let k1 = span_out.len() / c;
                let pad = k1 / 2;
                let span = (0..n)
                    .map(|t| {
                        let mut acc = *span_out_bias;
                        for kk in 0..k1 {
                            let Some(s) = (t + kk).checked_sub(pad).filter(|&s| s < n) else {
                                continue;
                            };
                            let row = &mid[s * c..(s + 1) * c];
                            for (ch, &v) in row.iter().enumerate() {
                                acc += span_out[ch * k1 + kk] * v;
                            }
                        }
                        1.0 / (1.0 + (-acc).exp())
                    })
                    .collect();
                (logits, Some(span))
            }
            FastHead::ModernBert {
                dense,
                activation,
                norm,
                classifier,
            } => {
                let h = dense.n;
                let mut xs = vec![0f32; n * h];
                dense.forward(cpu, hidden, n, &mut xs, false, &mut q);
                activate_all(cpu.avx512, *activation, &mut xs);
                let mut normed = vec![0f32; n * h];
                layer_norm(cpu.avx512, norm, &xs, &mut normed);
                let mut logits = vec![0f32; n * classifier.n];
                classifier.forward(cpu, &normed, n, &mut logits, false, &mut q);
                (logits, None)
            }
        }
    }
}

/// What a forward pass with a head gives.
pub(crate) struct FastScores {
    /// `tokens × labels`.
    pub(crate) logits: Vec<Vec<f32>>,
    /// The span head's output, for Kompress.
    pub(crate) span: Option<Vec<f32>>,
    /// `p(keep)`, times `0.5 + 0.5 · span` for Kompress.
    pub(crate) keep: Vec<f32>,
}

impl FastModernBert {
    /// Puts `head` on top.
    pub(crate) fn set_head(&mut self, head: FastHead) {
        self.head = Some(head);
    }

    /// The head's scores of `ids`; `None` without a head.
    pub(crate) fn score(&self, ids: &[u32], keep_label: usize) -> Option<FastScores> {
        let head = self.head.as_ref()?;
        let n = ids.len();
        let hidden = self.forward(ids);
        let (logits, span) = head.forward(self.cpu, &hidden, n);
        let labels = logits.len() / n.max(1);
        let logits: Vec<Vec<f32>> = logits.chunks_exact(labels).map(<[f32]>::to_vec).collect();
        let keep = logits
            .iter()
            .enumerate()
            .map(|(t, row)| {
                let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
                let p = (row[keep_label] - max).exp() / sum;
                match &span {
                    Some(s) => p * (s[t] * 0.5 + 0.5),
                    None => p,
                }
            })
            .collect();
        Some(FastScores { logits, span, keep })
    }
}

/// cos and sin of the rotary angles, `[tokens][head_dim / 2]` each, as candle computes them.
fn rope_tables(n: usize, head_dim: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / theta.powf(2.0 * i as f64 / head_dim as f64) as f32)
        .collect();
    let mut cos = Vec::with_capacity(n * half);
    let mut sin = Vec::with_capacity(n * half);
    for p in 0..n {
        for f in &inv {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    (cos, sin)
}

/// Rotates the first `2·half` values of `x` (rotate-half RoPE) with one row of the tables.
#[inline(always)]
fn rotate(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = cos.len();
    let (a, b) = x.split_at_mut(half);
    for (((a, b), &c), &s) in a.iter_mut().zip(&mut b[..half]).zip(cos).zip(sin) {
        let (x1, x2) = (*a, *b);
        *a = x1 * c - x2 * s;
        *b = x2 * c + x1 * s;
    }
}

/// Self-attention of all heads: RoPE on the queries and keys of `qkv` (`[n][3][heads][hd]`),
/// then `out[n][heads·hd] = softmax(q kᵀ / √hd) v`, each row over its window when `window` is
/// set (a row sees keys at most that far away). With `int8`, the scores `q kᵀ` come from the
/// int8 kernel (queries per row, keys per key, both symmetric); otherwise all is f32.
#[allow(clippy::too_many_arguments)]
fn attention(
    cpu: Cpu,
    n: usize,
    heads: usize,
    hd: usize,
    qkv: &mut [f32],
    kt: &mut [f32],
    out: &mut [f32],
    (cos, sin): &(Vec<f32>, Vec<f32>),
    window: Option<usize>,
    int8: Option<&mut Vec<HeadQuant>>,
) {
    let h = heads * hd;
    let half = hd / 2;
    for (i, row) in qkv.chunks_exact_mut(3 * h).enumerate() {
        let (cs, sn) = (
            &cos[i * half..(i + 1) * half],
            &sin[i * half..(i + 1) * half],
        );
        for head in row[..2 * h].chunks_exact_mut(hd) {
            rotate(head, cs, sn);
        }
    }
    let quant: Option<&[HeadQuant]> = match int8 {
        Some(hq) => {
            hq.resize_with(heads, HeadQuant::default);
            for (hh, hq) in hq.iter_mut().enumerate() {
                hq.quantize(cpu.vnni, qkv, n, h, hh, hd);
            }
            Some(hq)
        }
        None => {
            // kt[c][i] = k[i][c], in blocks of 8 tokens so that reads and writes stay in
            // cache.
            for i0 in (0..n).step_by(8) {
                let i1 = (i0 + 8).min(n);
                for c in 0..h {
                    for i in i0..i1 {
                        kt[c * n + i] = qkv[i * 3 * h + h + c];
                    }
                }
            }
            None
        }
    };
    let qkv = &*qkv;
    let kt = &*kt;
    let blocks = n.div_ceil(QB);
    let tasks = heads * blocks;
    let scale = 1.0 / (hd as f32).sqrt();
    let outp = SharedMut(out.as_mut_ptr());
    let claims = Claims::new(tasks);
    parallel(threads().min(tasks), || {
        let mut scores = vec![0f32; QB * n];
        while let Some(task) = claims.claim() {
            let (hh, qb) = (task / blocks, task % blocks);
            let (i0, i1) = (qb * QB, ((qb + 1) * QB).min(n));
            let (j0, j1) = match window {
                Some(w) => (i0.saturating_sub(w), (i1 + w).min(n)),
                None => (0, n),
            };
            // The int8 kernel starts at whole blocks of 16 keys.
            let j0 = if quant.is_some() {
                j0 / LANES * LANES
            } else {
                j0
            };
            let (m, width) = (i1 - i0, j1 - j0);
            match quant {
                Some(quant) => {
                    let hq = &quant[hh];
                    let out = Out {
                        ptr: SharedMut(scores.as_mut_ptr()),
                        ldc: width,
                        row_base: i0,
                        col_base: j0,
                        add: false,
                    };
                    let mut b = j0 / LANES;
                    while b * LANES < j1 {
                        let cols = (j1 - b * LANES).min(NR);
                        let mut i = i0;
                        while i < i1 {
                            let rows = (i1 - i).min(MR);
                            // SAFETY: the tile lies inside `scores` (rows [i0, i1), columns
                            // [j0, j1)), this thread's own; `cpu.vnni` was checked.
                            unsafe { qtile(cpu.vnni, &hq.q, &hq.k, None, i, rows, b, cols, out) };
                            i += rows;
                        }
                        b += 2;
                    }
                }
                // SAFETY: the pointers cover the blocks their strides describe.
                None => unsafe {
                    sgemm(
                        cpu.avx512,
                        m,
                        width,
                        hd,
                        qkv.as_ptr().add(i0 * 3 * h + hh * hd),
                        3 * h,
                        kt.as_ptr().add(hh * hd * n + j0),
                        n,
                        scores.as_mut_ptr(),
                        width,
                        false,
                    );
                },
            }
            for r in 0..m {
                let i = i0 + r;
                let row = &mut scores[r * width..(r + 1) * width];
                let (lo, hi) = match window {
                    Some(w) => (i.saturating_sub(w).max(j0) - j0, (i + w + 1).min(j1) - j0),
                    None => (0, width),
                };
                row[..lo].fill(0.0);
                row[hi..].fill(0.0);
                softmax(cpu.avx512, &mut row[lo..hi], scale);
            }
            // SAFETY: the pointers cover the blocks their strides describe; the output rows
            // [i0, i1) of head hh are this task's alone.
            unsafe {
                sgemm(
                    cpu.avx512,
                    m,
                    hd,
                    width,
                    scores.as_ptr(),
                    width,
                    qkv.as_ptr().add(j0 * 3 * h + 2 * h + hh * hd),
                    3 * h,
                    outp.get().add(i0 * h + hh * hd),
                    h,
                    false,
                );
            }
        }
    });
}

/// One head's queries and keys quantized for the int8 score product.
#[derive(Default)]
struct HeadQuant {
    /// Queries, per row.
    q: QAct,
    /// Keys as the weights of the product (one output column per key).
    k: QWeight,
    /// Keys quantized like activations, before packing.
    tmp: QAct,
}

impl HeadQuant {
    /// Quantizes the queries and keys of head `hh` (`hd` a multiple of 4).
    fn quantize(&mut self, simd: bool, qkv: &[f32], n: usize, h: usize, hh: usize, hd: usize) {
        quantize_rows(simd, &qkv[hh * hd..], n, hd, 3 * h, hd, &mut self.q);
        quantize_rows(simd, &qkv[h + hh * hd..], n, hd, 3 * h, hd, &mut self.tmp);
        let w = &mut self.k;
        let blocks = n.div_ceil(LANES);
        let g4 = hd / 4;
        (w.n, w.k, w.kp) = (n, hd, hd);
        w.packed.clear();
        w.packed.resize(blocks * LANES * hd, 0);
        w.scale.clear();
        w.scale.resize(blocks * LANES, 0.0);
        w.corr.clear();
        w.corr.resize(blocks * LANES, 0);
        for key in 0..n {
            let (b, l) = (key / LANES, key % LANES);
            let row = &self.tmp.data[key * hd..(key + 1) * hd];
            // The stored bytes are q + 128: flipping the top bit gives q as i8.
            let sum = row.iter().map(|&u| u as i32).sum::<i32>() - 128 * hd as i32;
            w.scale[key] = self.tmp.scale[key];
            w.corr[key] = 128 * sum;
            for (g, word) in row.chunks_exact(4).enumerate() {
                let at = ((b * g4 + g) * LANES + l) * 4;
                for (t, &u) in word.iter().enumerate() {
                    w.packed[at + t] = (u ^ 0x80) as i8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64 by its series `2/√π e^{-x²} Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))` (all terms
    /// positive, no cancellation).
    fn erf64(x: f64) -> f64 {
        let ax = x.abs();
        if ax > 6.0 {
            return x.signum();
        }
        let mut term = ax;
        let mut sum = ax;
        let mut n = 0.0;
        while term > 1e-20 * sum {
            n += 1.0;
            term *= 2.0 * ax * ax / (2.0 * n + 1.0);
            sum += term;
        }
        x.signum() * 2.0 / std::f64::consts::PI.sqrt() * (-ax * ax).exp() * sum
    }

    #[test]
    fn erf_is_within_1e_6() {
        let mut worst = 0f64;
        for i in -80_000..=80_000 {
            let x = i as f32 * 1e-4;
            let e = (erf_approx(x) as f64 - erf64(x as f64)).abs();
            worst = worst.max(e);
        }
        assert!(worst <= 1e-6, "erf error {worst}");
        // Vectorized the same.
        let xs: Vec<f32> = (-1000..1000).map(|i| i as f32 * 0.007).collect();
        let mut a = xs.clone();
        let mut b = xs.clone();
        activate_all(has_avx512(), Activation::Gelu, &mut a);
        activate_all(false, Activation::Gelu, &mut b);
        for ((x, a), b) in xs.iter().zip(&a).zip(&b) {
            let exact = 0.5 * *x as f64 * (1.0 + erf64(*x as f64 / 2f64.sqrt()));
            assert!(
                (*a as f64 - exact).abs() < 2e-6,
                "gelu({x}) = {a}, not {exact}"
            );
            assert!((a - b).abs() <= 1e-6);
        }
    }

    #[test]
    fn exp_is_accurate() {
        let mut worst = 0f64;
        for i in -80_000..88_000 {
            let x = i as f32 * 1e-3;
            let exact = (x as f64).exp();
            worst = worst.max((exp_approx(x) as f64 - exact).abs() / exact);
        }
        assert!(worst < 5e-7, "exp relative error {worst}");
        let mut row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 9.0).collect();
        let mut exact: Vec<f64> = row.iter().map(|&x| (x as f64 * 0.5).exp()).collect();
        let s: f64 = exact.iter().sum();
        exact.iter_mut().for_each(|e| *e /= s);
        softmax(has_avx512(), &mut row, 0.5);
        for (a, b) in row.iter().zip(&exact) {
            assert!((*a as f64 - b).abs() < 1e-6);
        }
    }

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// The int8 GEMM against an f64 product of the same matrices, on shapes with tails.
    #[test]
    fn int8_gemm_matches_f64_on_odd_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 17),
            (9, 37, 33),
            (17, 64, 50),
            (13, 130, 96),
        ] {
            let x = random(m * k, (m * 31 + k) as u64);
            let w = random(n * k, (n * 7 + k) as u64);
            let bias = random(n, 5);
            let lin = FastLinear::new(&w, n, k, Some(bias.clone()), true);
            let mut q = QAct {
                data: Vec::new(),
                scale: Vec::new(),
                kp: 0,
            };
            let mut results = Vec::new();
            for cpu in [Cpu::detect(), Cpu::portable()] {
                let mut y = vec![1.0f32; m * n];
                lin.forward(cpu, &x, m, &mut y, true, &mut q);
                results.push(y);
            }
            for i in 0..m {
                for j in 0..n {
                    let exact: f64 = (0..k)
                        .map(|kk| x[i * k + kk] as f64 * w[j * k + kk] as f64)
                        .sum::<f64>()
                        + bias[j] as f64
                        + 1.0;
                    let tol = 0.02 * (k as f64).sqrt() + 1e-3;
                    for y in &results {
                        let got = y[i * n + j] as f64;
                        assert!(
                            (got - exact).abs() < tol,
                            "{m}x{k}x{n} [{i},{j}]: {got} vs {exact}"
                        );
                    }
                    // Integer sums: the VNNI and portable paths agree to rounding.
                    assert!((results[0][i * n + j] - results[1][i * n + j]).abs() < 1e-5);
                }
            }
            // The f32 weights path, both kernels, to rounding.
            let lin = FastLinear::new(&w, n, k, Some(bias.clone()), false);
            for cpu in [Cpu::detect(), Cpu::portable()] {
                let mut y = vec![0f32; m * n];
                lin.forward(cpu, &x, m, &mut y, false, &mut q);
                for i in 0..m {
                    for j in 0..n {
                        let exact: f64 = (0..k)
                            .map(|kk| x[i * k + kk] as f64 * w[j * k + kk] as f64)
                            .sum::<f64>()
                            + bias[j] as f64;
                        assert!((y[i * n + j] as f64 - exact).abs() < 1e-4);
                    }
                }
            }
        }
    }

    /// The AVX-512 and portable paths of a whole forward pass agree.
    #[test]
    fn portable_forward_matches_simd() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-kompress");
        let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
        let config = crate::config::ModelConfig::parse(&text).unwrap();
        let crate::config::Encoder::ModernBert(c) = &config.encoder else {
            panic!("ModernBERT expected")
        };
        let tensors = candle_core::safetensors::load(
            dir.join("model.safetensors"),
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let ids: Vec<u32> = (0..70).map(|i| (i * 37 % 500 + 5) as u32).collect();
        for int8 in [true, false] {
            let mut m = FastModernBert::load(&Source::new(&tensors, "encoder"), c, int8).unwrap();
            let a = m.forward(&ids);
            m.set_cpu(Cpu::portable());
            let b = m.forward(&ids);
            let worst = a
                .iter()
                .zip(&b)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < if int8 { 0.05 } else { 1e-3 },
                "int8 {int8}: {worst}"
            );
        }
    }
}
