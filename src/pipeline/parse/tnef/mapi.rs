//! MAPI property blocks inside TNEF attributes (attMAPIProps for the message, attAttachment
//! for each file): a count, then for each property its type, id, the name of a named
//! property, and its value(s). Only the first value of each property is kept: the
//! properties read (names, bodies, MIME type) are single-valued.

use super::reader::{Reader, Short};

/// Type flag of a multi-valued property.
const MV_FLAG: u16 = 0x1000;

pub(super) const PT_STRING8: u16 = 0x001E;
pub(super) const PT_UNICODE: u16 = 0x001F;
pub(super) const PT_BINARY: u16 = 0x0102;
const PT_OBJECT: u16 = 0x000D;

/// Why a property block could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MapiError {
    /// A length runs past the block's end, at this offset in the block.
    Short(usize),
    /// A property type this decoder does not know, so its size is unknown.
    UnknownType(u16),
    /// A named property's name kind is neither 0 (number) nor 1 (string).
    BadNameKind(u32),
}

impl From<Short> for MapiError {
    fn from(s: Short) -> Self {
        Self::Short(s.at)
    }
}

/// One property: its id, its type without the multi-value flag, and its first value's
/// bytes (`None` for a multi-valued property with no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Prop<'a> {
    pub id: u16,
    pub ptype: u16,
    pub value: Option<&'a [u8]>,
}

/// Reads a property block. Each property consumes at least four bytes, so the number of
/// properties kept is bounded by the block's size whatever its count field says.
pub(super) fn parse(block: &[u8]) -> Result<Vec<Prop<'_>>, MapiError> {
    let mut r = Reader::new(block);
    let count = r.u32()?;
    let mut props = Vec::new();
    for _ in 0..count {
        let ptype = r.u16()?;
        let id = r.u16()?;
        if id >= 0x8000 {
            skip_name(&mut r)?;
        }
        let base = ptype & !(MV_FLAG | 0x2000);
        let multi = ptype & MV_FLAG != 0;
        let value = match fixed_size(base) {
            Some(size) => {
                let n = if multi { r.len32()? } else { 1 };
                if n.checked_mul(size)
                    .is_none_or(|total| total > r.remaining())
                {
                    return Err(MapiError::Short(r.pos()));
                }
                let all = r.take(n * size)?;
                all.get(..size)
            }
            None if is_variable(base) => {
                // A count of values (1 for a single-valued one), then each value's length,
                // its bytes and padding to a multiple of four.
                let n = r.len32()?;
                let mut first = None;
                for _ in 0..n {
                    let len = r.len32()?;
                    let v = r.take(len)?;
                    r.skip_padding((4 - len % 4) % 4);
                    first.get_or_insert(v);
                }
                first
            }
            None => return Err(MapiError::UnknownType(ptype)),
        };
        props.push(Prop {
            id,
            ptype: base,
            value,
        });
    }
    Ok(props)
}

/// Steps over a named property's GUID and name (a number, or a padded UTF-16 string).
fn skip_name(r: &mut Reader<'_>) -> Result<(), MapiError> {
    r.take(16)?;
    match r.u32()? {
        0 => {
            r.u32()?;
        }
        1 => {
            let len = r.len32()?;
            r.take(len)?;
            r.skip_padding((4 - len % 4) % 4);
        }
        kind => return Err(MapiError::BadNameKind(kind)),
    }
    Ok(())
}

/// The size of one value of a fixed-size type, as TNEF writes it (16-bit values padded).
fn fixed_size(ptype: u16) -> Option<usize> {
    match ptype {
        // PT_NULL, PT_SHORT, PT_LONG, PT_FLOAT, PT_ERROR, PT_BOOLEAN
        0x0001 | 0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => Some(4),
        // PT_DOUBLE, PT_CURRENCY, PT_APPTIME, PT_I8, PT_SYSTIME
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
        // PT_CLSID
        0x0048 => Some(16),
        _ => None,
    }
}

fn is_variable(ptype: u16) -> bool {
    matches!(ptype, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_larger_than_the_block_fails_without_allocating_it() {
        let mut block = u32::MAX.to_le_bytes().to_vec();
        block.extend_from_slice(&[0x03, 0x00, 0x01, 0x00, 1, 2, 3, 4]);
        assert_eq!(parse(&block), Err(MapiError::Short(12)));
    }

    #[test]
    fn a_huge_multi_value_count_is_refused_before_reading() {
        let mut block = 1u32.to_le_bytes().to_vec();
        block.extend_from_slice(&(0x1000u16 | 0x0014).to_le_bytes());
        block.extend_from_slice(&0x0001u16.to_le_bytes());
        block.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&block), Err(MapiError::Short(_))));
    }

    #[test]
    fn unknown_types_are_an_error() {
        let mut block = 1u32.to_le_bytes().to_vec();
        block.extend_from_slice(&[0xFB, 0x00, 0x01, 0x00]);
        assert_eq!(parse(&block), Err(MapiError::UnknownType(0x00FB)));
    }
}
