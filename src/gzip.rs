//! TEMPORARY placeholder until the parallel writer lands (helper is writing it).
use std::io::{self, Write};

pub struct ParallelGzip<W: Write + Send> {
    inner: flate2::write::GzEncoder<W>,
}

impl<W: Write + Send> ParallelGzip<W> {
    pub fn new(out: W, _threads: usize) -> Self {
        ParallelGzip {
            inner: flate2::GzBuilder::new()
                .operating_system(255)
                .write(out, flate2::Compression::best()),
        }
    }
    pub fn finish(self) -> io::Result<W> {
        self.inner.finish()
    }
}

impl<W: Write + Send> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
