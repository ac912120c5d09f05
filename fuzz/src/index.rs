//! Checks of index parsing: the library accepts and rejects what the model does, an
//! accepted index encodes back to exactly its bytes, and the view's accessors agree.

use wal_format::{Codec, FileOffset, FormatError, IndexView, index};

use crate::model;

/// Parses `data` as an index of `codec` and checks the result against the model.
pub fn check_index(codec: Codec, data: &[u8]) {
    match (
        IndexView::parse(codec, data),
        model::parse_index(codec, data),
    ) {
        (Ok(view), Ok(offsets)) => check_view(codec, data, &view, &offsets),
        (Err(actual), Err(expected)) => model::assert_same_index_error(&actual, &expected),
        (actual, expected) => panic!("IndexView::parse gave {actual:?}, the model {expected:?}"),
    }
}

/// Every accessor of an accepted index agrees with its offsets, and encoding them gives
/// back the parsed bytes.
fn check_view(codec: Codec, data: &[u8], view: &IndexView<'_>, offsets: &[FileOffset]) {
    assert_eq!(view.codec(), codec);
    let listed: Vec<FileOffset> = view.iter().collect();
    assert_eq!(listed, offsets);
    assert_eq!(view.iter().len(), listed.len(), "iter()'s exact size");
    assert_eq!(view.len(), listed.len());
    assert_eq!(view.is_empty(), listed.is_empty());
    for (position, &offset) in listed.iter().enumerate() {
        assert_eq!(view.get(position), Some(offset), "get({position})");
    }
    for past in [
        listed.len(),
        listed.len() + 1,
        usize::MAX / 4 + 1,
        usize::MAX,
    ] {
        assert_eq!(view.get(past), None, "get({past}) past the end");
    }
    assert_eq!(view.last(), listed.last().copied());

    let needed = index::index_bytes(codec, view.len());
    assert_eq!(needed, data.len());
    let mut out = vec![0u8; needed];
    assert_eq!(index::encode(codec, &listed, &mut out), Ok(needed));
    assert_eq!(
        out, data,
        "encoding the parsed offsets gives the parsed bytes"
    );

    // One byte short: a typed error, and nothing written.
    if let Some(available) = needed.checked_sub(1) {
        let mut short = vec![0xA5u8; available];
        assert_eq!(
            index::encode(codec, &listed, &mut short),
            Err(FormatError::BufferTooSmall { needed, available })
        );
        assert!(
            short.iter().all(|&b| b == 0xA5),
            "a failed encode writes nothing"
        );
    }
}
