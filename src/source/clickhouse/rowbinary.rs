//! ClickHouse's `RowBinaryWithNamesAndTypes` answers, read a row at a time into the JSON values
//! a `JSONEachRow` line of the same query holds, for the types the queries select (strings,
//! integers, arrays, maps, `LowCardinality` of them). The header's names and types are read
//! first; a type outside that set is refused by name.

use serde_json::{Map, Value as Json};
use std::io::{BufRead, Read};

/// The largest string or collection a row may announce: beyond it the bytes are not a row
/// (a broken-off answer read as one).
const MAX_LEN: u64 = 64 << 20;

#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Str,
    Int { bytes: usize, signed: bool },
    Bool,
    Nothing,
    Array(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
}

fn parse_type(s: &str) -> Option<Ty> {
    let s = s.trim();
    let inner = |prefix: &str| s.strip_prefix(prefix).and_then(|r| r.strip_suffix(')'));
    if let Some(t) = inner("LowCardinality(") {
        return parse_type(t);
    }
    if let Some(t) = inner("Array(") {
        return Some(Ty::Array(Box::new(parse_type(t)?)));
    }
    if let Some(kv) = inner("Map(") {
        // The key type has no comma (String or LowCardinality(String)); the value may.
        let (k, v) = kv.split_once(',')?;
        return Some(Ty::Map(Box::new(parse_type(k)?), Box::new(parse_type(v)?)));
    }
    Some(match s {
        "String" => Ty::Str,
        "Bool" => Ty::Bool,
        "Nothing" => Ty::Nothing,
        _ => {
            let (signed, bits) = match s.strip_prefix("UInt") {
                Some(bits) => (false, bits),
                None => (true, s.strip_prefix("Int")?),
            };
            let bytes = match bits {
                "8" => 1,
                "16" => 2,
                "32" => 4,
                "64" => 8,
                _ => return None,
            };
            Ty::Int { bytes, signed }
        }
    })
}

/// The reader of one answer: the columns from its header, and the bytes of the row being read
/// (kept for the error message when they turn out to be no row).
pub struct RowBinary {
    columns: Vec<(String, Ty)>,
    pub row: Vec<u8>,
}

/// Reading stops: the input ended inside a row, or the bytes are no row.
#[derive(Debug)]
pub struct NotARow(pub String);

impl RowBinary {
    /// Reads the header (column count, names, types).
    pub fn header(input: &mut dyn BufRead) -> Result<Self, NotARow> {
        let mut reader = Self {
            columns: Vec::new(),
            row: Vec::new(),
        };
        let n = reader.len(input)?;
        let mut names = Vec::new();
        for _ in 0..n {
            names.push(reader.string(input)?);
        }
        for name in names {
            let ty = reader.string(input)?;
            let parsed = parse_type(&ty)
                .ok_or_else(|| NotARow(format!("column {name} is of type {ty}, which is not read")))?;
            reader.columns.push((name, parsed));
        }
        Ok(reader)
    }

    /// The next row, its values in column order; `None` at the end of the input.
    pub fn next(&mut self, input: &mut dyn BufRead) -> Result<Option<Vec<Json>>, NotARow> {
        self.row.clear();
        if input.fill_buf().map_err(io)?.is_empty() {
            return Ok(None);
        }
        let columns = std::mem::take(&mut self.columns);
        let row: Result<Vec<Json>, NotARow> = columns.iter().map(|(_, ty)| self.value(input, ty)).collect();
        self.columns = columns;
        row.map(Some)
    }

    /// A row of [`RowBinary::next`] as `T`, its values named by the columns, as serde reads a
    /// JSON object.
    pub fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
        values: Vec<Json>,
    ) -> Result<T, serde_json::Error> {
        let names = self.columns.iter().map(|(name, _)| name.as_str());
        T::deserialize(serde::de::value::MapDeserializer::<_, serde_json::Error>::new(
            names.zip(values),
        ))
    }

    fn value(&mut self, input: &mut dyn BufRead, ty: &Ty) -> Result<Json, NotARow> {
        Ok(match ty {
            Ty::Str => Json::String(self.string(input)?),
            Ty::Bool => Json::Bool(self.bytes::<1>(input)?[0] != 0),
            Ty::Nothing => Json::Null,
            Ty::Int { bytes, signed } => {
                let mut b = [0u8; 8];
                self.exact(input, &mut b[..*bytes])?;
                let unsigned = u64::from_le_bytes(b);
                if *signed && *bytes < 8 && unsigned >> (bytes * 8 - 1) & 1 == 1 {
                    Json::from(unsigned as i64 - (1i64 << (bytes * 8)))
                } else if *signed {
                    Json::from(unsigned as i64)
                } else {
                    Json::from(unsigned)
                }
            }
            Ty::Array(item) => {
                let n = self.len(input)?;
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    items.push(self.value(input, item)?);
                }
                Json::Array(items)
            }
            Ty::Map(key, value) => {
                let n = self.len(input)?;
                let mut map = Map::new();
                for _ in 0..n {
                    let k = match self.value(input, key)? {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    let v = self.value(input, value)?;
                    map.insert(k, v);
                }
                Json::Object(map)
            }
        })
    }

    fn exact(&mut self, input: &mut dyn BufRead, buf: &mut [u8]) -> Result<(), NotARow> {
        let start = self.take(input, buf.len())?;
        buf.copy_from_slice(&self.row[start..]);
        Ok(())
    }

    /// Appends the next `n` bytes to the row, returning where they start. What arrives of a cut
    /// value is kept too: it may be the start of ClickHouse's error message.
    fn take(&mut self, input: &mut dyn BufRead, n: usize) -> Result<usize, NotARow> {
        let start = self.row.len();
        let got = input.take(n as u64).read_to_end(&mut self.row).map_err(io)?;
        if got < n {
            return Err(NotARow("the answer ended inside a row".into()));
        }
        Ok(start)
    }

    fn bytes<const N: usize>(&mut self, input: &mut dyn BufRead) -> Result<[u8; N], NotARow> {
        let mut b = [0u8; N];
        self.exact(input, &mut b)?;
        Ok(b)
    }

    /// A LEB128 length, bounded by [`MAX_LEN`].
    fn len(&mut self, input: &mut dyn BufRead) -> Result<usize, NotARow> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = self.bytes::<1>(input)?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return if n <= MAX_LEN {
                    Ok(n as usize)
                } else {
                    Err(NotARow(format!("a length of {n}")))
                };
            }
        }
        Err(NotARow("a length longer than 64 bits".into()))
    }

    fn string(&mut self, input: &mut dyn BufRead) -> Result<String, NotARow> {
        let n = self.len(input)?;
        let start = self.take(input, n)?;
        Ok(String::from_utf8_lossy(&self.row[start..]).into_owned())
    }
}

fn io(e: std::io::Error) -> NotARow {
    NotARow(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }

    #[test]
    fn types_by_name() {
        assert_eq!(parse_type("LowCardinality(String)"), Some(Ty::Str));
        assert_eq!(
            parse_type("Map(LowCardinality(String), String)"),
            Some(Ty::Map(Box::new(Ty::Str), Box::new(Ty::Str)))
        );
        assert_eq!(
            parse_type("Array(Map(LowCardinality(String), String))"),
            Some(Ty::Array(Box::new(Ty::Map(Box::new(Ty::Str), Box::new(Ty::Str)))))
        );
        assert_eq!(
            parse_type("Int8"),
            Some(Ty::Int {
                bytes: 1,
                signed: true
            })
        );
        assert_eq!(parse_type("DateTime64(9)"), None);
    }

    #[test]
    fn a_header_and_rows_as_json() {
        let mut body = vec![3];
        for name in ["ts", "attrs", "ev"] {
            string(&mut body, name);
        }
        for ty in ["Int64", "Map(LowCardinality(String), String)", "Array(Int8)"] {
            string(&mut body, ty);
        }
        body.extend_from_slice(&(-5i64).to_le_bytes());
        body.push(1);
        string(&mut body, "k");
        string(&mut body, "v");
        body.extend_from_slice(&[2, 0xff, 7]);
        let mut input: &[u8] = &body;
        let mut reader = RowBinary::header(&mut input).unwrap();
        let row = reader.next(&mut input).unwrap().unwrap();
        let row: Json = reader.deserialize(row).unwrap();
        assert_eq!(
            row,
            serde_json::json!({"ts": -5, "attrs": {"k": "v"}, "ev": [-1, 7]})
        );
        assert!(reader.next(&mut input).unwrap().is_none());
    }

    #[test]
    fn a_cut_row_or_a_huge_length_is_no_row() {
        let mut body = vec![1];
        string(&mut body, "s");
        string(&mut body, "String");
        body.extend_from_slice(&[5, b'a']);
        let mut input: &[u8] = &body;
        let mut reader = RowBinary::header(&mut input).unwrap();
        let err = reader.next(&mut input).unwrap_err();
        assert!(err.0.contains("ended inside a row"), "{err:?}");
        assert_eq!(reader.row, [5, b'a']);
        let mut huge: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(reader.next(&mut huge).unwrap_err().0.contains("length"));
    }
}
