//! A long list of report lines that can be kept packed: a scan of 100,000
//! hosts lists some 300,000 certificates, which as structs outweigh the
//! rest of the report. A snapshot scan packs each environment's lines as
//! soon as the environment is checked (its lines as compact JSON, LZ4
//! compressed, about a tenth of their size in memory), and the outputs
//! unpack them one line at a time as they write them. A report read back
//! from JSON, or built in memory, holds plain lines.
//!
//! Either way the lines serialize as one JSON array, so a report is the
//! same bytes whichever form its lines were kept in.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Report lines, plain or packed in blocks (in order).
#[derive(Clone)]
pub struct Rows<T> {
    plain: Vec<T>,
    blocks: Vec<Block<T>>,
    /// Lines in the blocks.
    packed: usize,
}

/// Lines packed together: compact JSON, one line per row, LZ4 compressed.
pub struct Block<T> {
    bytes: Vec<u8>,
    len: usize,
    of: PhantomData<fn() -> T>,
}

impl<T> Clone for Block<T> {
    fn clone(&self) -> Self {
        Block {
            bytes: self.bytes.clone(),
            len: self.len,
            of: PhantomData,
        }
    }
}

impl<T: Serialize> Block<T> {
    /// Packs `rows`, in order.
    pub fn pack(rows: &[T]) -> Self {
        let mut json = Vec::with_capacity(rows.len() * 256);
        for r in rows {
            // Report lines are plain data with string keys: serde_json has
            // nothing it could refuse.
            serde_json::to_writer(&mut json, r).expect("a report line always serializes to JSON");
            json.push(b'\n');
        }
        Block {
            bytes: lz4_flex::compress_prepend_size(&json),
            len: rows.len(),
            of: PhantomData,
        }
    }
}

impl<T> Block<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: DeserializeOwned> Block<T> {
    /// The lines, as they were packed.
    fn unpack(&self) -> Vec<T> {
        // Blocks are packed by this process from lines that serialize: a
        // block that does not read back is a bug, not an input.
        let json = lz4_flex::decompress_size_prepended(&self.bytes)
            .expect("a packed block of report lines decompresses");
        serde_json::Deserializer::from_slice(&json)
            .into_iter::<T>()
            .map(|r| r.expect("a packed report line reads back"))
            .collect()
    }
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            plain: Vec::new(),
            blocks: Vec::new(),
            packed: 0,
        }
    }
}

impl<T> From<Vec<T>> for Rows<T> {
    fn from(plain: Vec<T>) -> Self {
        Rows {
            plain,
            ..Rows::default()
        }
    }
}

impl<T> Rows<T> {
    pub fn len(&self) -> usize {
        self.plain.len() + self.packed
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a block after every line so far.
    pub fn push_block(&mut self, block: Block<T>) {
        if !block.is_empty() {
            self.packed += block.len;
            self.blocks.push(block);
        }
    }

    /// Sorts the plain lines. Packed lines are sorted by whoever packs
    /// them: a scan packs each environment's lines sorted, environments
    /// in order.
    pub fn sort_plain_by(&mut self, compare: impl FnMut(&T, &T) -> std::cmp::Ordering) {
        self.plain.sort_by(compare);
    }
}

impl<T: Clone + DeserializeOwned> Rows<T> {
    /// Every line in order: the plain ones, then the packed ones, unpacked
    /// a block at a time.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, T>> + '_ {
        self.plain.iter().map(Cow::Borrowed).chain(
            self.blocks
                .iter()
                .flat_map(|b| b.unpack().into_iter().map(Cow::Owned)),
        )
    }

    /// Every line, unpacked.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().map(Cow::into_owned).collect()
    }

    /// The lines as a plain vector to change, unpacked first if need be.
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        if !self.blocks.is_empty() {
            let all = self.to_vec();
            *self = Rows::from(all);
        }
        &mut self.plain
    }
}

impl<T: Serialize + Clone + DeserializeOwned> Serialize for Rows<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for r in self.iter() {
            seq.serialize_element(r.as_ref())?;
        }
        seq.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Rows<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Rows::from)
    }
}

impl<T: PartialEq + Clone + DeserializeOwned> PartialEq for Rows<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<T: Eq + Clone + DeserializeOwned> Eq for Rows<T> {}

impl<T: fmt::Debug + Clone + DeserializeOwned> fmt::Debug for Rows<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Line {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        n: i64,
    }

    fn line(name: &str, note: Option<&str>, n: i64) -> Line {
        Line {
            name: name.into(),
            note: note.map(str::to_string),
            n,
        }
    }

    /// Packed or plain, the same lines in the same order and the same
    /// JSON, whatever the lines hold (escapes, newlines, no optional field).
    #[test]
    fn packed_lines_read_and_serialize_as_plain_ones() {
        let lines = vec![
            line("a", None, 1),
            line("b \"quoted\"\nand a newline", Some("é ✓"), -2),
            line("", Some(""), i64::MAX),
            line("d", None, 0),
        ];
        let plain = Rows::from(lines.clone());
        let mut packed = Rows::from(lines[..1].to_vec());
        packed.push_block(Block::pack(&lines[1..3]));
        packed.push_block(Block::pack(&[]));
        packed.push_block(Block::pack(&lines[3..]));
        assert_eq!(packed.len(), 4);
        assert_eq!(packed.to_vec(), lines);
        assert_eq!(packed, plain);
        assert_eq!(
            serde_json::to_string_pretty(&packed).unwrap(),
            serde_json::to_string_pretty(&lines).unwrap()
        );
        let back: Rows<Line> =
            serde_json::from_str(&serde_json::to_string(&packed).unwrap()).unwrap();
        assert_eq!(back, plain);
        assert!(Rows::<Line>::default().is_empty());
        packed.to_mut()[0].n = 7;
        assert_eq!(packed.len(), 4);
        assert_eq!(
            packed.iter().map(|l| l.n).collect::<Vec<_>>(),
            [7, -2, i64::MAX, 0]
        );
    }
}
