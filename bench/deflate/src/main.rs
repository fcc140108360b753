//! Deflate implementation comparison behind trustpub's gzip writer
//! (src/gzip.rs). Run it with bench/deflate.sh; see bench/README.md.
//!
//! Usage: deflate-bench TAR REF_TGZ MODE
//!
//! TAR is an uncompressed tarball (date-fns@4.1.0 as npm packs it), REF_TGZ
//! the .tgz npm made of it (the size reference). MODE is one of:
//!
//! - `single`: every implementation and level on one thread, whole input;
//! - `tune`: zlib-rs's slow deflate with custom deflateTune parameters;
//! - `parallel`: single-member parallel schemes on all cores;
//! - `shipped`: trustpub's `ParallelGzip` as shipped, 1 thread and all cores.
//! - `scan`: the block scanner alone over the shipped chunking.
//!
//! Output: markdown table rows on stdout, notes on stderr. The flate2 backend
//! (zlib-rs or zlib-ng) is chosen at build time with the `rs` / `ng`
//! features; libdeflate and miniz_oxide rows are printed by the `rs` build.
//! Times are the best of several runs: this is a shared, noisy VM, and the
//! minimum is the most stable estimate of what the code itself costs.

// The writer and its block scanner, compiled from the main crate's source.
#[allow(dead_code)]
#[path = "../../../src/gzip.rs"]
mod gzip;
#[cfg(feature = "rs")]
mod tune;

use flate2::{Compress, Compression, FlushCompress, Status};
use gzip::scan::Scanner;
use std::io::Write;
use std::time::{Duration, Instant};

#[cfg(feature = "ng")]
const BACKEND: &str = "zlib-ng (flate2)";
#[cfg(not(feature = "ng"))]
const BACKEND: &str = "zlib-rs (flate2)";

/// 10-byte header + CRC-32 + ISIZE.
const GZIP_OVERHEAD: usize = 18;

/// Best of several runs (fewer for slow configurations): (time, result).
fn timed<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let t = Instant::now();
    let mut r = f();
    let first = t.elapsed();
    let reps = if first < Duration::from_millis(700) {
        5
    } else if first < Duration::from_secs(2) {
        2
    } else {
        0
    };
    let mut best = first;
    for _ in 0..reps {
        let t = Instant::now();
        r = f();
        best = best.min(t.elapsed());
    }
    (best, r)
}

struct Ctx {
    input: usize,
    reference: usize,
}

impl Ctx {
    fn header(&self) {
        println!(
            "| implementation | level | threads | chunk | time (ms) | MB/s | .tgz bytes | vs npm |"
        );
        println!("|---|---|---|---|---|---|---|---|");
    }

    fn row(
        &self,
        name: &str,
        level: &str,
        threads: usize,
        chunk: &str,
        dur: Duration,
        deflate_bytes: usize,
    ) {
        let gz = deflate_bytes + GZIP_OVERHEAD;
        println!(
            "| {name} | {level} | {threads} | {chunk} | {:.1} | {:.0} | {gz} | {:+.2}% |",
            dur.as_secs_f64() * 1e3,
            self.input as f64 / 1e6 / dur.as_secs_f64(),
            (gz as f64 / self.reference as f64 - 1.0) * 100.0
        );
    }
}

/// Raw deflate with flate2's zlib backend; with a preset dictionary and a
/// sync flush unless `finish` (a pigz-style piece).
fn zlib_piece(c: &mut Compress, data: &[u8], dict: &[u8], finish: bool) -> Vec<u8> {
    c.reset();
    if !dict.is_empty() {
        c.set_dictionary(dict).expect("set_dictionary");
    }
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut input = data;
    loop {
        if out.capacity() - out.len() < 64 * 1024 {
            out.reserve(out.capacity());
        }
        let before = c.total_in();
        let st = c.compress_vec(input, &mut out, flush).expect("deflate");
        input = &input[(c.total_in() - before) as usize..];
        match st {
            Status::StreamEnd => break,
            _ if !finish && input.is_empty() && out.capacity() > out.len() => break,
            _ => {}
        }
    }
    out
}

fn libdeflate_raw(c: &mut libdeflater::Compressor, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; c.deflate_compress_bound(data.len())];
    let n = c.deflate_compress(data, &mut out).expect("libdeflate");
    out.truncate(n);
    out
}

fn libdeflate(level: i32) -> libdeflater::Compressor {
    libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap())
}

type Piece = Box<dyn FnMut(&[u8], &[u8], bool) -> Vec<u8>>;

/// Parallel single-member harness: chunks are compressed on `threads`
/// threads (next free chunk by index); each piece is a byte-aligned raw
/// deflate stream, non-final except the last; pieces concatenate in order.
/// `make` creates one compressor per thread: (dictionary, chunk, last) -> piece.
/// Verifies the result inflates to the input; returns the deflate size.
fn parallel(data: &[u8], chunk: usize, threads: usize, make: &(dyn Fn() -> Piece + Sync)) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let n = data.len().div_ceil(chunk).max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Vec<u8>>>> = Mutex::new(vec![None; n]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut f = make();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let lo = i * chunk;
                    let hi = ((i + 1) * chunk).min(data.len());
                    let out = f(
                        &data[lo.saturating_sub(32 * 1024)..lo],
                        &data[lo..hi],
                        i == n - 1,
                    );
                    results.lock().unwrap()[i] = Some(out);
                }
            });
        }
    });
    let total: Vec<u8> = results
        .into_inner()
        .unwrap()
        .into_iter()
        .flat_map(Option::unwrap)
        .collect();
    let back = miniz_oxide::inflate::decompress_to_vec(&total).expect("stream must inflate");
    assert!(back == data, "round trip mismatch");
    total.len()
}

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("comma-separated numbers"))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!(
            "usage: {} TAR REF_TGZ single|tune|parallel|shipped|scan",
            args[0]
        );
        std::process::exit(2);
    }
    let data = std::fs::read(&args[1]).expect("read tar");
    let reference = std::fs::metadata(&args[2]).expect("reference .tgz").len() as usize;
    let mode = args[3].as_str();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ctx = Ctx {
        input: data.len(),
        reference,
    };
    eprintln!(
        "input {} bytes, npm .tgz {reference} bytes, {BACKEND}, {cores} cores, mode {mode}",
        data.len()
    );
    if !matches!(mode, "scan" | "probe" | "ship") {
        ctx.header();
    }

    match mode {
        "single" => single(&ctx, &data),
        #[cfg(feature = "rs")]
        "tune" => {
            for chain in [16, 32, 64, 128, 256] {
                for (good, lazy, nice) in [(8, 32, 128), (8, 32, 258), (32, 258, 258)] {
                    let (dur, out) = timed(|| tune::compress(&data, 9, (good, lazy, nice, chain)));
                    let level = format!("good {good} lazy {lazy} nice {nice} chain {chain}");
                    ctx.row("zlib-rs slow + deflateTune", &level, 1, "-", dur, out.len());
                }
            }
        }
        "parallel" => parallel_modes(&ctx, &data, cores),
        "scan" => scan_only(&data),
        "probe" => probe(&ctx, &data),
        "ship" => {
            let (d, out) = timed(|| {
                let mut gz = gzip::ParallelGzip::new(Vec::new(), 1);
                gz.write_all(&data).unwrap();
                gz.finish().unwrap()
            });
            let pct = (out.len() as f64 / ctx.reference as f64 - 1.0) * 100.0;
            println!("{pct:+.2}\t{:.1}ms", d.as_secs_f64() * 1e3);
        }
        "shipped" => {
            for threads in [1, cores] {
                let (dur, out) = timed(|| {
                    let mut gz =
                        gzip::ParallelGzip::new(Vec::with_capacity(data.len() / 6), threads);
                    for piece in data.chunks(64 * 1024) {
                        gz.write_all(piece).unwrap();
                    }
                    gz.finish().unwrap()
                });
                let mut back = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&out[..]), &mut back)
                    .unwrap();
                assert!(back == data, "round trip mismatch");
                let name = "trustpub ParallelGzip (libdeflate, scan+align)";
                let chunk = format!("{} KiB", gzip::CHUNK_SIZE >> 10);
                ctx.row(
                    name,
                    &gzip::LEVEL.to_string(),
                    threads,
                    &chunk,
                    dur,
                    out.len() - GZIP_OVERHEAD,
                );
            }
        }
        _ => {
            eprintln!("unknown mode {mode}");
            std::process::exit(2);
        }
    }
}

fn single(ctx: &Ctx, data: &[u8]) {
    for level in 1..=9 {
        let mut c = Compress::new(Compression::new(level), false);
        let (dur, out) = timed(|| zlib_piece(&mut c, data, &[], true));
        ctx.row(BACKEND, &level.to_string(), 1, "-", dur, out.len());
    }
    if cfg!(feature = "ng") {
        return;
    }
    for level in [1, 2, 4, 6, 7, 8, 9, 10, 11, 12] {
        let mut c = libdeflate(level);
        let (dur, out) = timed(|| libdeflate_raw(&mut c, data));
        ctx.row("libdeflate", &level.to_string(), 1, "-", dur, out.len());
    }
    for level in [1u8, 6, 9] {
        let (dur, out) = timed(|| miniz_oxide::deflate::compress_to_vec(data, level));
        ctx.row("miniz_oxide", &level.to_string(), 1, "-", dur, out.len());
    }
    let (d, _) = timed(|| {
        let mut c = libdeflater::Crc::new();
        c.update(data);
        c.sum()
    });
    eprintln!("CRC-32 (libdeflate): {:.1} ms", d.as_secs_f64() * 1e3);
    let out = libdeflate_raw(&mut libdeflate(7), data);
    let mut scanner = Scanner::new();
    let (d, _) = timed(|| scanner.scan(&out).unwrap());
    eprintln!(
        "block scanner over the whole libdeflate-7 stream ({} bytes): {:.1} ms",
        out.len(),
        d.as_secs_f64() * 1e3
    );
}

/// One TSV line for a corpus package (bench/size-corpus.sh's tars): .tgz
/// sizes in % vs npm for the shipped writer and for candidate settings, and
/// one-thread times. Columns are printed to stderr once per run.
fn probe(ctx: &Ctx, data: &[u8]) {
    let pct =
        |deflate: usize| (((deflate + GZIP_OVERHEAD) as f64 / ctx.reference as f64) - 1.0) * 100.0;
    let mut cols: Vec<String> = vec![data.len().to_string(), ctx.reference.to_string()];
    let mut names: Vec<&str> = vec!["tar", "npm"];
    let shipped = {
        let mut gz = gzip::ParallelGzip::new(Vec::new(), 1);
        gz.write_all(data).unwrap();
        gz.finish().unwrap().len() - GZIP_OVERHEAD
    };
    names.push("shipped");
    cols.push(format!("{:+.2}", pct(shipped)));
    for level in [7, 8, 9] {
        let mut c = libdeflate(level);
        let (d, out) = timed(|| libdeflate_raw(&mut c, data));
        names.push(["ld7", "ld8", "ld9"][level as usize - 7]);
        cols.push(format!(
            "{:+.2} {:.0}ms",
            pct(out.len()),
            d.as_secs_f64() * 1e3
        ));
    }
    let mut z = Compress::new(Compression::new(9), false);
    let (d, out) = timed(|| zlib_piece(&mut z, data, &[], true));
    names.push("zlib9");
    cols.push(format!(
        "{:+.2} {:.0}ms",
        pct(out.len()),
        d.as_secs_f64() * 1e3
    ));
    eprintln!("{}", names.join("\t"));
    println!("{}", cols.join("\t"));
}

/// The block scanner alone: the shipped chunking (libdeflate 7 pieces of
/// `gzip::CHUNK_SIZE`), each made non-final, best of 20 passes.
fn scan_only(data: &[u8]) {
    let mut c = libdeflate(gzip::LEVEL);
    let pieces: Vec<Vec<u8>> = data
        .chunks(gzip::CHUNK_SIZE)
        .map(|chunk| libdeflate_raw(&mut c, chunk))
        .collect();
    let mut scanner = Scanner::new();
    let mut best = Duration::MAX;
    for _ in 0..20 {
        let mut copies = pieces.clone();
        let t = Instant::now();
        for p in &mut copies {
            scanner.make_nonfinal(p).expect("scan");
        }
        best = best.min(t.elapsed());
    }
    let bytes: usize = pieces.iter().map(Vec::len).sum();
    eprintln!(
        "block scanner, {} pieces, {bytes} bytes: best {:.2} ms",
        pieces.len(),
        best.as_secs_f64() * 1e3
    );
}

fn parallel_modes(ctx: &Ctx, data: &[u8], threads: usize) {
    let chunks = env_list("CHUNKS_KIB", "1024,2048,3072,4096");
    let zlib_levels = env_list("ZLIB_LEVELS", "7,9");
    let libdeflate_levels = env_list("LIBDEFLATE_LEVELS", "6,7,8");
    for chunk_kib in chunks {
        let chunk = chunk_kib * 1024;
        let label = format!("{chunk_kib} KiB");
        for &level in &zlib_levels {
            let make = move || -> Piece {
                let mut c = Compress::new(Compression::new(level as u32), false);
                Box::new(move |dict, piece, last| zlib_piece(&mut c, piece, dict, last))
            };
            let (dur, n) = timed(|| parallel(data, chunk, threads, &make));
            let name = format!("{BACKEND}, dictionary + sync flush");
            ctx.row(&name, &level.to_string(), threads, &label, dur, n);
        }
        if cfg!(feature = "ng") {
            continue;
        }
        for &level in &libdeflate_levels {
            let make = move || -> Piece {
                let mut c = libdeflate(level as i32);
                let mut scanner = Scanner::new();
                Box::new(move |_dict, piece, last| {
                    let mut out = libdeflate_raw(&mut c, piece);
                    if !last {
                        scanner.make_nonfinal(&mut out).expect("scan");
                    }
                    out
                })
            };
            let (dur, n) = timed(|| parallel(data, chunk, threads, &make));
            ctx.row(
                "libdeflate, no dictionary, scan+align",
                &level.to_string(),
                threads,
                &label,
                dur,
                n,
            );
        }
    }
}
