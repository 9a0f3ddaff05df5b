//! An estimate of the heap bytes a value owns, for the Streaming page's state sizes, read
//! through the value's `serde::Serialize` (every stateful record is [`Persist`](crate::Persist)).
//!
//! The rule: what a value holds in line counts nothing (its `size_of` is counted by whoever
//! holds it); a string counts its length; a sequence or map counts, for each element, the
//! element's in-line bytes (the sizes of the primitives serde sees, a string's 24 bytes, a
//! nested sequence's 24 bytes) plus what the element owns in turn. Boxes, `Arc`s, padding, the
//! allocator's rounding and spare capacity are not seen: it is a lower bound of the payload,
//! exact for strings and vectors of primitives.

use serde::ser::{self, Serialize};

/// The heap bytes `value` owns, by the rule of the module.
pub(crate) fn owned_bytes<T: Serialize + ?Sized>(value: &T) -> u64 {
    let mut c = Counter { bytes: 0, in_heap: false };
    // The counter never fails; a value whose Serialize fails counts what was seen.
    let _ = value.serialize(&mut c);
    c.bytes
}

/// Counts while serializing; `in_heap`: the value being serialized is an element of a
/// sequence or map (its in-line bytes are on the heap too).
struct Counter {
    bytes: u64,
    in_heap: bool,
}

/// Nothing fails; serde needs an error type.
#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Never
    }
}

/// In-line size of a string or vector header.
const HEADER: u64 = 24;

impl Counter {
    fn inline(&mut self, n: u64) -> Result<(), Never> {
        if self.in_heap {
            self.bytes += n;
        }
        Ok(())
    }

    fn owned(&mut self, n: u64) -> Result<(), Never> {
        self.inline(HEADER)?;
        self.bytes += n;
        Ok(())
    }

    /// Serializes an element of an owned collection.
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        let outer = std::mem::replace(&mut self.in_heap, true);
        let r = v.serialize(&mut *self);
        self.in_heap = outer;
        r
    }
}

macro_rules! primitives {
    ($($name:ident: $t:ty),*) => {$(
        fn $name(self, _: $t) -> Result<(), Never> {
            self.inline(std::mem::size_of::<$t>() as u64)
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Counter {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Collection<'a>;
    type SerializeTuple = Inline<'a>;
    type SerializeTupleStruct = Inline<'a>;
    type SerializeTupleVariant = Inline<'a>;
    type SerializeMap = Collection<'a>;
    type SerializeStruct = Inline<'a>;
    type SerializeStructVariant = Inline<'a>;

    primitives!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_i128: i128, serialize_u128: u128);

    fn serialize_str(self, v: &str) -> Result<(), Never> {
        self.owned(v.len() as u64)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Never> {
        self.owned(v.len() as u64)
    }
    fn serialize_none(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Never> {
        self.inline(1)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Collection<'a>, Never> {
        self.inline(HEADER)?;
        Ok(Collection(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<Inline<'a>, Never> {
        Ok(Inline(self))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Inline<'a>, Never> {
        Ok(Inline(self))
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Inline<'a>, Never> {
        Ok(Inline(self))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Collection<'a>, Never> {
        self.inline(HEADER)?;
        Ok(Collection(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Inline<'a>, Never> {
        Ok(Inline(self))
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Inline<'a>, Never> {
        Ok(Inline(self))
    }
}

/// The elements of a sequence or map: on the heap.
struct Collection<'a>(&'a mut Counter);

/// The fields of a tuple or struct: where the tuple is.
struct Inline<'a>(&'a mut Counter);

impl ser::SerializeSeq for Collection<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.0.element(v)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeMap for Collection<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.0.element(v)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.0.element(v)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

macro_rules! inline_compound {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Inline<'_> {
            type Ok = ();
            type Error = Never;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
                v.serialize(&mut *self.0)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    )*};
}

inline_compound!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

macro_rules! inline_struct {
    ($($tr:ident),*) => {$(
        impl ser::$tr for Inline<'_> {
            type Ok = ();
            type Error = Never;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, v: &T) -> Result<(), Never> {
                v.serialize(&mut *self.0)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    )*};
}

inline_struct!(SerializeStruct, SerializeStructVariant);

/// The slots of a hash table whose `capacity()` is `capacity` (hashbrown's buckets, the
/// inverse of its `bucket_mask_to_capacity`), plus the 16 control bytes of its trailing group
/// counted as one slot.
pub(crate) fn buckets(capacity: usize) -> usize {
    match capacity {
        0 => 0,
        c if c < 8 => c + 1 + 1,
        c => c / 7 * 8 + 1,
    }
}

/// The estimated heap bytes of a keyed state: `keys` entries in hash tables of `slots` slots
/// in all, each slot `entry` bytes plus one control byte (hashbrown's layout), plus what the
/// `sample` of entries owns on average (by [`owned_bytes`]) times `keys`.
pub(crate) fn table_bytes(slots: usize, entry: usize, keys: usize, sampled: u64, sample: usize) -> u64 {
    let table = slots as u64 * (entry as u64 + 1);
    let owned = sampled.saturating_mul(keys as u64).checked_div(sample as u64).unwrap_or(0);
    table + owned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_vectors_count_their_payload_and_inline_values_nothing() {
        assert_eq!(owned_bytes(&7u64), 0);
        assert_eq!(owned_bytes(&(1u32, 2.0f64)), 0);
        assert_eq!(owned_bytes("hello"), 5);
        assert_eq!(owned_bytes(&String::from("hello")), 5);
        assert_eq!(owned_bytes(&vec![1u64, 2, 3]), 24);
        // Each string of a vector: its 24-byte header in the buffer plus its bytes.
        assert_eq!(owned_bytes(&vec!["ab".to_string(), "cde".to_string()]), 24 + 2 + 24 + 3);
        assert_eq!(owned_bytes(&("key".to_string(), vec![1u32; 10])), 3 + 40);
        assert_eq!(owned_bytes(&Some("abc".to_string())), 3);
        let mut m = std::collections::BTreeMap::new();
        m.insert(1u8, "x".to_string());
        assert_eq!(owned_bytes(&m), 1 + 24 + 1);
    }

    #[test]
    fn buckets_invert_the_capacity_of_a_hash_map() {
        for n in [1usize, 3, 7, 8, 100, 1000] {
            let m: std::collections::HashMap<u64, u64> = (0..n as u64).map(|i| (i, i)).collect();
            let b = buckets(m.capacity()) - 1;
            assert!(b.is_power_of_two() && b > n, "{n} keys: {b} buckets for capacity {}", m.capacity());
        }
        assert_eq!(buckets(0), 0);
    }

    #[test]
    fn a_table_counts_its_slots_and_the_sampled_payload_per_key() {
        assert_eq!(table_bytes(16, 40, 10, 0, 0), 16 * 41);
        assert_eq!(table_bytes(16, 40, 10, 30, 3), 16 * 41 + 100);
    }
}
