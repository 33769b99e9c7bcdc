//! Flush-to-zero for the heavy native calls. Subnormal floats (e.g. an LSTM's cell state or gradients
//! decaying towards zero) take a slow microcode path on x86, a known input-dependent slowdown of
//! recurrent networks; with MXCSR's FTZ (results) and DAZ (inputs) bits set they are treated as zero.
//! MXCSR is per thread and the caller may be Node's JS thread, so the guard restores the caller's
//! value on drop (RAII), also on unwind. On wasm and other targets it does nothing (wasm has no
//! denormal penalty control; its results keep subnormals).

/// Sets FTZ and DAZ for its lifetime on x86_64, then restores the previous MXCSR.
#[must_use = "the mode is restored when the guard drops"]
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

impl FlushDenormals {
    pub fn new() -> FlushDenormals {
        #[cfg(target_arch = "x86_64")]
        {
            let saved = read_mxcsr();
            if saved & FTZ_DAZ != FTZ_DAZ {
                write_mxcsr(saved | FTZ_DAZ);
            }
            FlushDenormals { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        FlushDenormals {}
    }

    /// Whether the current thread flushes subnormals now (for tests).
    pub fn active() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            read_mxcsr() & FTZ_DAZ == FTZ_DAZ
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        FlushDenormals::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if read_mxcsr() != self.saved {
            write_mxcsr(self.saved);
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn read_mxcsr() -> u32 {
    let mut v: u32 = 0;
    // SAFETY: stmxcsr stores the 32-bit MXCSR to the given address, a live local; SSE is baseline on x86_64.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack, preserves_flags)) };
    v
}

#[cfg(target_arch = "x86_64")]
fn write_mxcsr(v: u32) {
    // SAFETY: ldmxcsr loads MXCSR from a live local holding a value read from MXCSR with only the FTZ/DAZ
    // bits changed (both valid on every x86_64 CPU with SSE2 (DAZ since SSE2-era CPUs)), so no reserved bit is set.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &v, options(nostack, preserves_flags)) };
}
