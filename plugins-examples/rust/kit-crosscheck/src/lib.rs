//! serde adapters for the kit's types, for the cross-checks in `tests/`:
//! `Canon` carries a `wasmgate_kit::Value` through serde with its kinds
//! intact (str stays str, bin stays bin, integers keep their sign, maps keep
//! their order); `Bytes` is a body written as bin (serde writes `Vec<u8>`
//! as an array of integers); `Ordered` is an insertion-ordered map, like the
//! kit's header maps.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;
use wasmgate_kit::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Canon(pub Value);

impl Serialize for Canon {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::F64(f) => s.serialize_f64(*f),
            Value::Str(t) => s.serialize_str(t),
            Value::Bin(b) => s.serialize_bytes(b),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for x in items {
                    seq.serialize_element(&Canon(x.clone()))?;
                }
                seq.end()
            }
            Value::Map(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(&Canon(k.clone()), &Canon(v.clone()))?;
                }
                map.end()
            }
        }
    }
}

struct CanonVisitor;

impl<'de> Visitor<'de> for CanonVisitor {
    type Value = Canon;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any msgpack value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Canon, E> {
        Ok(Canon(Value::Nil))
    }
    fn visit_none<E: de::Error>(self) -> Result<Canon, E> {
        Ok(Canon(Value::Nil))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Canon, E> {
        Ok(Canon(Value::Bool(b)))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Canon, E> {
        Ok(Canon(Value::Int(i)))
    }
    // The kit's reader keeps every integer that fits an i64 as Int.
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Canon, E> {
        Ok(Canon(if u > i64::MAX as u64 {
            Value::UInt(u)
        } else {
            Value::Int(u as i64)
        }))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Canon, E> {
        Ok(Canon(Value::F64(f)))
    }
    fn visit_str<E: de::Error>(self, t: &str) -> Result<Canon, E> {
        Ok(Canon(Value::Str(t.to_string())))
    }
    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Canon, E> {
        Ok(Canon(Value::Bin(b.to_vec())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Canon, A::Error> {
        let mut items = Vec::new();
        while let Some(Canon(x)) = seq.next_element()? {
            items.push(x);
        }
        Ok(Canon(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Canon, A::Error> {
        let mut pairs = Vec::new();
        while let Some((Canon(k), Canon(v))) = map.next_entry()? {
            pairs.push((k, v));
        }
        Ok(Canon(Value::Map(pairs)))
    }
}

impl<'de> Deserialize<'de> for Canon {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Canon, D::Error> {
        d.deserialize_any(CanonVisitor)
    }
}

/// Bytes serialized as msgpack bin.
#[derive(Clone, Debug, PartialEq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("bin")
    }
    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes(b.to_vec()))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        d.deserialize_bytes(BytesVisitor)
    }
}

/// A map written in insertion order (header maps, metadata).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
