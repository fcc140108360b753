//! zlib-rs with custom match-finder parameters: flate2 does not expose
//! `deflateTune`, so this goes through zlib-rs's C API (libz-rs-sys).
use libz_rs_sys::{deflate, deflateEnd, deflateInit2_, deflateTune, z_stream, zlibVersion};

/// Raw deflate of `data` at `level`, then deflateTune(good, lazy, nice, chain).
pub fn compress(
    data: &[u8],
    level: i32,
    (good, lazy, nice, chain): (i32, i32, i32, i32),
) -> Vec<u8> {
    let mut out = vec![0u8; data.len() + data.len() / 8 + 1024];
    // SAFETY: the stream is initialised by deflateInit2_ before use, its
    // buffers outlive every call, and deflateEnd frees it.
    unsafe {
        let mut s = z_stream::default();
        let size = core::mem::size_of::<z_stream>() as i32;
        // method 8 = deflate, window bits -15 = raw deflate, memLevel 8, default strategy
        assert_eq!(
            deflateInit2_(&mut s, level, 8, -15, 8, 0, zlibVersion(), size),
            0
        );
        assert_eq!(deflateTune(&mut s, good, lazy, nice, chain), 0);
        s.next_in = data.as_ptr();
        s.avail_in = data.len() as u32;
        s.next_out = out.as_mut_ptr();
        s.avail_out = out.len() as u32;
        assert_eq!(deflate(&mut s, 4 /* Z_FINISH */), 1 /* Z_STREAM_END */);
        let n = s.total_out as usize;
        deflateEnd(&mut s);
        out.truncate(n);
    }
    out
}
