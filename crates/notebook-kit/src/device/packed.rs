//! MKL's packed matrix product (`cblas_sgemm_pack` / `cblas_sgemm_compute`): a weight matrix
//! put once into MKL's internal layout and multiplied by many inputs.
//!
//! Every ordinary matmul packs both of its operands first. When `predict` or `evaluate`
//! sends 10,000 images through the lesson's model, the 37 MB first-layer kernel is packed
//! again for every group of rows; packing it once per call instead took the first layer's
//! products from 0.45 s to 0.38 s and the second's from 0.145 s to 0.13 s (256-row groups,
//! 2-core Zen 5 development VM with MKL's AVX-512 kernels, 2026-11-28).
//!
//! The routines are looked up in the loaded `libtorch_cpu.so` at run time, so a libtorch
//! without MKL (an ARM build) still links and simply gets no packed kernels.

use std::os::raw::c_int;
use std::sync::OnceLock;

use tch::{Device, Kind, Tensor};

use crate::error::Result;

// CBLAS's enum values (mkl_cblas.h).
const ROW_MAJOR: c_int = 101;
const NO_TRANS: c_int = 111;
const PACKED: c_int = 151;
const B_MATRIX: c_int = 162;

// The parameters as MKL's reference names them.
type PackGetSize = unsafe extern "C" fn(identifier: c_int, m: c_int, n: c_int, k: c_int) -> usize;
type Pack = unsafe extern "C" fn(
    layout: c_int,
    identifier: c_int,
    trans: c_int,
    m: c_int,
    n: c_int,
    k: c_int,
    alpha: f32,
    src: *const f32,
    ld: c_int,
    dest: *mut f32,
);
type Compute = unsafe extern "C" fn(
    layout: c_int,
    transa: c_int,
    transb: c_int,
    m: c_int,
    n: c_int,
    k: c_int,
    a: *const f32,
    lda: c_int,
    b: *const f32,
    ldb: c_int,
    beta: f32,
    c: *mut f32,
    ldc: c_int,
);

struct Routines {
    pack_get_size: PackGetSize,
    pack: Pack,
    compute: Compute,
    /// Keeps the handle (and so the function pointers) valid for the process's lifetime.
    _lib: libloading::Library,
}

fn routines() -> Option<&'static Routines> {
    static ROUTINES: OnceLock<Option<Routines>> = OnceLock::new();
    ROUTINES
        .get_or_init(|| {
            let path = super::torch_lib_dir()?.join("libtorch_cpu.so");
            // SAFETY: the library is already mapped (torch_lib_dir read it from the process's
            // maps); opening it again returns a handle and runs no initialisers.
            let lib = unsafe { libloading::Library::new(&path) }.ok()?;
            // SAFETY: the signatures are MKL's LP64 CBLAS ones, which libtorch links (its
            // `_64` variants are the ILP64 ones).
            unsafe {
                let pack_get_size = *lib
                    .get::<PackGetSize>(b"cblas_sgemm_pack_get_size\0")
                    .ok()?;
                let pack = *lib.get::<Pack>(b"cblas_sgemm_pack\0").ok()?;
                let compute = *lib.get::<Compute>(b"cblas_sgemm_compute\0").ok()?;
                Some(Routines {
                    pack_get_size,
                    pack,
                    compute,
                    _lib: lib,
                })
            }
        })
        .as_ref()
}

/// A `[k, n]` float matrix packed by MKL for products `x @ matrix` with `x` of up to `rows`
/// rows. Holds its own copy: later changes to the source matrix are not seen.
pub(crate) struct PackedMatrix {
    buffer: Tensor,
    k: c_int,
    n: c_int,
    rows: c_int,
    routines: &'static Routines,
}

impl PackedMatrix {
    /// `None` where MKL's routines are not there or `matrix` is not a 2-D float CPU tensor
    /// of a size MKL's 32-bit indices can address; the caller then multiplies as usual.
    pub(crate) fn new(matrix: &Tensor, rows: i64) -> Result<Option<PackedMatrix>> {
        let size = matrix.size();
        if matrix.device() != Device::Cpu || matrix.kind() != Kind::Float || size.len() != 2 {
            return Ok(None);
        }
        let (Some(routines), Ok(k), Ok(n), Ok(rows)) = (
            routines(),
            c_int::try_from(size[0]),
            c_int::try_from(size[1]),
            c_int::try_from(rows),
        ) else {
            return Ok(None);
        };
        let matrix = matrix.f_contiguous()?;
        // SAFETY: plain size query.
        let bytes = unsafe { (routines.pack_get_size)(B_MATRIX, rows, n, k) };
        // libtorch's allocator aligns to 64 bytes, as MKL asks for packed buffers; a tensor
        // never moves its storage, as MKL requires of a packed matrix.
        let buffer = Tensor::f_empty([bytes as i64], (Kind::Uint8, Device::Cpu))?;
        // SAFETY: `matrix` is a contiguous row-major [k, n] float tensor (ld = n) alive for
        // the call; `buffer` holds the size MKL asked for.
        unsafe {
            (routines.pack)(
                ROW_MAJOR,
                B_MATRIX,
                NO_TRANS,
                rows,
                n,
                k,
                1.0,
                matrix.data_ptr() as *const f32,
                n,
                buffer.data_ptr() as *mut f32,
            );
        }
        Ok(Some(PackedMatrix {
            buffer,
            k,
            n,
            rows,
            routines,
        }))
    }

    /// `x @ matrix` for a float CPU `x` of shape `[m, k]`, `m` at most the rows packed for;
    /// `None` for any other `x` (the caller multiplies as usual).
    pub(crate) fn multiply(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let size = x.size();
        if x.device() != Device::Cpu
            || x.kind() != Kind::Float
            || size.len() != 2
            || size[1] != i64::from(self.k)
            || size[0] > i64::from(self.rows)
        {
            return Ok(None);
        }
        let m = size[0] as c_int;
        let x = x.f_contiguous()?;
        let out = Tensor::f_empty([size[0], i64::from(self.n)], (Kind::Float, Device::Cpu))?;
        if m == 0 {
            return Ok(Some(out));
        }
        // SAFETY: `x` is a contiguous [m, k] float tensor (lda = k), `out` a fresh contiguous
        // [m, n] one (ldc = n), the packed buffer was made for these k and n and at least m
        // rows; beta = 0 so `out`'s uninitialised values are not read.
        unsafe {
            (self.routines.compute)(
                ROW_MAJOR,
                NO_TRANS,
                PACKED,
                m,
                self.n,
                self.k,
                x.data_ptr() as *const f32,
                self.k,
                self.buffer.data_ptr() as *const f32,
                self.n,
                0.0,
                out.data_ptr() as *mut f32,
                self.n,
            );
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_products_match_matmul() -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        tch::manual_seed(3);
        let opts = (Kind::Float, Device::Cpu);
        let w = Tensor::randn([300, 70], opts);
        let Some(packed) = PackedMatrix::new(&w, 64)? else {
            // No MKL in this libtorch: nothing to compare.
            assert!(routines().is_none());
            return Ok(());
        };
        for rows in [64, 17, 1, 0] {
            let x = Tensor::randn([rows, 300], opts);
            let product = packed.multiply(&x)?.expect("a product");
            let expected = x.matmul(&w);
            assert_eq!(product.size(), [rows, 70]);
            if rows > 0 {
                let diff = (&product - &expected).abs().max().double_value(&[]);
                assert!(diff < 1e-4, "{rows} rows: max difference {diff}");
            }
        }
        // More rows than packed for, the wrong width, or a non-float input: no product.
        assert!(packed.multiply(&Tensor::randn([65, 300], opts))?.is_none());
        assert!(packed.multiply(&Tensor::randn([8, 299], opts))?.is_none());
        assert!(packed
            .multiply(&Tensor::ones([8, 300], (Kind::Double, Device::Cpu)))?
            .is_none());
        // A transposed (non-contiguous) input is multiplied as its values say.
        let xt = Tensor::randn([300, 8], opts);
        let product = packed.multiply(&xt.tr())?.expect("a product");
        let diff = (&product - xt.tr().matmul(&w))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-4, "transposed input: max difference {diff}");
        Ok(())
    }
}
