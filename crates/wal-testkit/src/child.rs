//! What a test reads of a child process it kills: its output in whole lines.

use std::io::BufRead;

/// Reads `output` to its end and returns its whole lines, calling `seen` with each as it
/// arrives (a test watching for a line to time its kill). A last line without its
/// newline is left out: a line the kill cut is nothing the child said.
pub fn whole_lines(mut output: impl BufRead, mut seen: impl FnMut(&str)) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = output.read_until(b'\n', &mut line).unwrap();
        if read == 0 || line.last() != Some(&b'\n') {
            return lines;
        }
        line.pop();
        let text = String::from_utf8(line.clone()).unwrap();
        seen(&text);
        lines.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_last_line_is_left_out() {
        let mut seen = Vec::new();
        let lines = whole_lines(&b"ack 1\nack 2\nack"[..], |l| seen.push(l.to_owned()));
        assert_eq!(lines, ["ack 1", "ack 2"]);
        assert_eq!(seen, lines);
    }
}
