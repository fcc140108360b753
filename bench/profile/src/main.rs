//! Phase timings for `trustpub pack` on one package directory. Each phase
//! runs RUNS times; the minimum and the median are printed (the minimum is
//! the most stable statistic on a shared machine).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use trustpub::files;
use trustpub::manifest::Manifest;
use trustpub::pack::{self, Output, PackOptions};
use trustpub::ui::Printer;

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    v.sort();
    (v[0], v[v.len() / 2])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("usage: pack-profile DIR [RUNS] [PHASES]"),
    );
    let runs: usize = args.next().map_or(10, |r| r.parse().expect("RUNS"));
    let phases = args.next().unwrap_or_else(|| "manifest,select,pack".into());
    let printer = Printer::from_locale(None, None, None, false);
    let manifest = Manifest::read_dir(&dir).expect("manifest");
    let show = |name: &str, (min, med): (Duration, Duration)| {
        println!(
            "{name:<12} min {:>8.2} ms  median {:>8.2} ms",
            min.as_secs_f64() * 1e3,
            med.as_secs_f64() * 1e3
        );
    };
    for phase in phases.split(',') {
        match phase {
            "manifest" => show(
                phase,
                time(runs, || Manifest::read_dir(&dir).expect("manifest")),
            ),
            "select" => show(
                phase,
                time(runs, || files::select(&dir, &manifest).expect("select")),
            ),
            "pack" | "pack1" => {
                let opts = PackOptions {
                    output: Output::Discard,
                    ignore_scripts: true,
                    script_shell: None,
                    threads: if phase == "pack1" { 1 } else { 0 },
                };
                show(
                    phase,
                    time(runs, || pack::pack(&dir, &opts, &printer).expect("pack")),
                );
            }
            "notice" => {
                // What the binary does after packing: npm's notice block,
                // one `trustpub notice` line per file, on standard error.
                let opts = PackOptions {
                    output: Output::Discard,
                    ignore_scripts: true,
                    script_shell: None,
                    threads: 0,
                };
                let packed = pack::pack(&dir, &opts, &printer).expect("pack");
                show(
                    "notice-lines",
                    time(runs, || pack::notice_lines(&packed, printer.unicode)),
                );
                show(
                    phase,
                    time(runs, || {
                        for line in pack::notice_lines(&packed, printer.unicode) {
                            printer.notice(&line);
                        }
                    }),
                );
            }
            other => panic!("unknown phase {other}"),
        }
    }
}
