//! A fence in the client's output: bytes backstop writes into the terminal's output
//! queue itself, after everything the client wrote before, and takes out again when
//! they come back from the terminal. When a fence comes out, every byte the client
//! wrote before it has reached the emulated screen.
//!
//! backstop holds the client's end of the terminal (the slave) open, and bytes written
//! there go to the master in order with the client's own: the line discipline and the
//! pty driver keep one queue. The fence is made of control bytes only (the line
//! discipline counts printable output in its column, for tab expansion) and carries a
//! random number of the session's, which the client never sees, so that no output
//! of the client's (a table's rows, say) can pass for one.
//!
//! The fence is taken out of the output before it reaches the person's terminal or
//! the emulator, also when one read ends in the middle of it.

/// Sixteen control bytes that the line discipline passes on as they are (not NL, CR,
/// TAB, BS, ESC, BEL, nor the flow-control bytes), one for each hex digit.
const DIGITS: [u8; 16] = [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0e, 0x0f, 0x10, 0x12, 0x14, 0x15, 0x16, 0x17, 0x19, 0x1a,
];
/// FS GS: where a fence starts.
const START: [u8; 2] = [0x1c, 0x1d];
/// RS: where it ends.
const END: u8 = 0x1e;
/// START, the session's 64-bit number, then the fence's own 32-bit number.
const HEAD: usize = START.len() + 16;
pub const LEN: usize = HEAD + 8 + 1;

fn digit(b: u8) -> Option<u32> {
    DIGITS.iter().position(|&d| d == b).map(|i| i as u32)
}

/// One session's fences: `head` is START and the session's number, spelled in DIGITS.
#[derive(Debug, Clone)]
pub struct Fence {
    head: [u8; HEAD],
}

/// What a chunk of output holds, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Output(Vec<u8>),
    Fence(u32),
}

impl Fence {
    pub fn new(session: u64) -> Fence {
        let mut head = [0u8; HEAD];
        head[..START.len()].copy_from_slice(&START);
        for (i, b) in head[START.len()..].iter_mut().enumerate() {
            *b = DIGITS[((session >> (60 - 4 * i)) & 0xf) as usize];
        }
        Fence { head }
    }

    /// The bytes of fence number `seq`.
    pub fn bytes(&self, seq: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.extend_from_slice(&self.head);
        for i in 0..8 {
            out.push(DIGITS[((seq >> (28 - 4 * i)) & 0xf) as usize]);
        }
        out.push(END);
        out
    }

    /// The fence number if `bytes` starts with a whole fence of this session's.
    fn parse(&self, bytes: &[u8]) -> Option<u32> {
        if bytes.len() < LEN || bytes[..HEAD] != self.head || bytes[LEN - 1] != END {
            return None;
        }
        bytes[HEAD..LEN - 1]
            .iter()
            .try_fold(0u32, |n, &b| digit(b).map(|d| (n << 4) | d))
    }

    /// Could `tail` be the first bytes of a fence of this session's?
    fn starts(&self, tail: &[u8]) -> bool {
        tail.iter().enumerate().all(|(i, &b)| match i {
            i if i < HEAD => b == self.head[i],
            i if i < LEN - 1 => digit(b).is_some(),
            _ => false,
        })
    }
}

/// Takes fences out of the output as it is read, across reads.
#[derive(Debug)]
pub struct Splitter {
    fence: Fence,
    /// The end of the last read, when it may be the start of a fence.
    held: Vec<u8>,
}

impl Splitter {
    pub fn new(fence: Fence) -> Splitter {
        Splitter {
            fence,
            held: Vec::new(),
        }
    }

    /// Splits `chunk` (after what was held back) into output and fences. While a
    /// fence is awaited (`awaited`), an end that may be the start of one is held back
    /// until the next read; otherwise nothing is held, so output is never delayed.
    pub fn split(&mut self, chunk: &[u8], awaited: bool) -> Vec<Piece> {
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(chunk);
        let mut pieces = Vec::new();
        let mut plain = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if data[i] == START[0] {
                if let Some(seq) = self.fence.parse(&data[i..]) {
                    if !plain.is_empty() {
                        pieces.push(Piece::Output(std::mem::take(&mut plain)));
                    }
                    pieces.push(Piece::Fence(seq));
                    i += LEN;
                    continue;
                }
                if awaited && data.len() - i < LEN && self.fence.starts(&data[i..]) {
                    self.held = data[i..].to_vec();
                    break;
                }
            }
            plain.push(data[i]);
            i += 1;
        }
        if !plain.is_empty() {
            pieces.push(Piece::Output(plain));
        }
        pieces
    }

    /// What was held back, once no more output will come.
    pub fn rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(pieces: &[Piece]) -> (Vec<u8>, Vec<u32>) {
        let mut out = Vec::new();
        let mut fences = Vec::new();
        for p in pieces {
            match p {
                Piece::Output(b) => out.extend_from_slice(b),
                Piece::Fence(n) => fences.push(*n),
            }
        }
        (out, fences)
    }

    #[test]
    fn a_fence_is_control_bytes_the_line_discipline_passes_on() {
        let f = Fence::new(0x0123_4567_89ab_cdef);
        let b = f.bytes(0xdead_beef);
        assert_eq!(b.len(), LEN);
        assert!(b
            .iter()
            .all(|&c| c < 0x20
                && !matches!(c, b'\n' | b'\r' | b'\t' | 0x08 | 0x1b | 0x07 | 0x11 | 0x13)));
        assert_eq!(f.parse(&b), Some(0xdead_beef));
        assert_eq!(Fence::new(7).parse(&b), None, "another session's fence");
    }

    #[test]
    fn fences_are_taken_out_wherever_the_reads_split_them() {
        let f = Fence::new(42);
        let mut stream = b"app=# DROP TABLE t;".to_vec();
        stream.extend(f.bytes(1));
        stream.extend_from_slice(b"\x1c\x1dnot a fence\r\n");
        stream.extend(f.bytes(2));
        for cut in 0..stream.len() {
            for cut2 in cut..stream.len() {
                let mut s = Splitter::new(f.clone());
                let mut pieces = s.split(&stream[..cut], true);
                pieces.extend(s.split(&stream[cut..cut2], true));
                pieces.extend(s.split(&stream[cut2..], true));
                let (out, fences) = joined(&pieces);
                assert_eq!(
                    out, b"app=# DROP TABLE t;\x1c\x1dnot a fence\r\n",
                    "{cut} {cut2}"
                );
                assert_eq!(fences, vec![1, 2], "{cut} {cut2}");
                assert!(s.rest().is_empty());
            }
        }
    }

    #[test]
    fn output_before_a_fence_comes_out_before_it() {
        let f = Fence::new(9);
        let mut s = Splitter::new(f.clone());
        let mut chunk = b"echo".to_vec();
        chunk.extend(f.bytes(5));
        chunk.extend_from_slice(b"after");
        assert_eq!(
            s.split(&chunk, true),
            vec![
                Piece::Output(b"echo".to_vec()),
                Piece::Fence(5),
                Piece::Output(b"after".to_vec())
            ]
        );
    }

    #[test]
    fn nothing_is_held_back_unless_a_fence_is_awaited() {
        let f = Fence::new(3);
        let mut s = Splitter::new(f.clone());
        let part = &f.bytes(1)[..5];
        assert_eq!(s.split(part, false), vec![Piece::Output(part.to_vec())]);
        assert_eq!(s.split(part, true), vec![]);
        assert_eq!(s.rest(), part.to_vec());
    }
}
