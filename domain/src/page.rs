//! Windows over the long lists of an asset's page: direct neighbours,
//! lineage by distance and version history. A hub at a million assets has
//! hundreds of thousands of assets downstream, so each list shows one
//! window of a few dozen items and says how many there are in all; "show
//! more" links page through the rest, with or without JavaScript.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Items per window of neighbours and of each lineage hop.
pub const WINDOW: usize = 25;
/// Versions per window of the version history.
pub const VERSION_WINDOW: usize = 20;
/// Column mappings listed per neighbour; the rest are counted.
pub const MAPPINGS_SHOWN: usize = 10;
/// The largest `offset` a window accepts. Paging past the last item gives
/// an empty window; beyond this it is a 400.
pub const MAX_WINDOW_OFFSET: usize = 10_000_000;

/// One window of a list: `items` from position `offset`, of `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing<T> {
    pub total: usize,
    pub offset: usize,
    pub items: Vec<T>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Listing {
            total: 0,
            offset: 0,
            items: vec![],
        }
    }
}

impl<T> Listing<T> {
    /// How many items come after this window.
    pub fn after(&self) -> usize {
        self.total.saturating_sub(self.offset + self.items.len())
    }
}

/// Which of an asset page's lists a "show more" link pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageList {
    /// None: every list shows its first window.
    #[default]
    First,
    Upstream,
    Downstream,
    Versions,
    /// The assets at this distance: negative upstream, positive downstream.
    Hop(i64),
}

impl PageList {
    /// Reads the `more` query parameter: `upstream`, `downstream`,
    /// `versions`, `upN` or `downN` (N ≥ 1), or empty.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "more",
                format!("{s:?} is not upstream, downstream, versions, upN or downN"),
            )
        };
        let hop = |digits: &str, sign: i64| -> Result<Self, ValidationError> {
            match digits.parse::<u32>() {
                Ok(d) if d >= 1 && digits.len() <= 4 => Ok(PageList::Hop(sign * i64::from(d))),
                _ => Err(bad()),
            }
        };
        match s {
            "" => Ok(PageList::First),
            "upstream" => Ok(PageList::Upstream),
            "downstream" => Ok(PageList::Downstream),
            "versions" => Ok(PageList::Versions),
            _ => {
                if let Some(d) = s.strip_prefix("down") {
                    hop(d, 1)
                } else if let Some(d) = s.strip_prefix("up") {
                    hop(d, -1)
                } else {
                    Err(bad())
                }
            }
        }
    }

    /// The value of the `more` query parameter that names this list.
    pub fn param(self) -> String {
        match self {
            PageList::First => String::new(),
            PageList::Upstream => "upstream".into(),
            PageList::Downstream => "downstream".into(),
            PageList::Versions => "versions".into(),
            PageList::Hop(d) if d < 0 => format!("up{}", -d),
            PageList::Hop(d) => format!("down{d}"),
        }
    }
}

/// Which window of which list an asset page shows; the other lists show
/// their first window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailWindow {
    pub list: PageList,
    pub offset: usize,
}

impl DetailWindow {
    /// Reads the `more` and `offset` query parameters.
    pub fn parse(more: &str, offset: &str) -> Result<Self, ValidationError> {
        let list = PageList::parse(more)?;
        let offset = match offset {
            "" => 0,
            o => o
                .parse::<usize>()
                .ok()
                .filter(|&o| o <= MAX_WINDOW_OFFSET)
                .ok_or_else(|| {
                    ValidationError::new(
                        "offset",
                        format!("must be a whole number from 0 to {MAX_WINDOW_OFFSET}"),
                    )
                })?,
        };
        Ok(DetailWindow { list, offset })
    }

    /// Where `list`'s window starts.
    pub fn offset_of(&self, list: PageList) -> usize {
        if self.list == list {
            self.offset
        } else {
            0
        }
    }
}

/// The window `offset..offset + limit` of `items` in the order `cmp`
/// (which should be total, so that pages neither overlap nor skip). Only
/// the items up to the window's end are sorted.
pub fn window_by<T>(
    mut items: Vec<T>,
    offset: usize,
    limit: usize,
    mut cmp: impl FnMut(&T, &T) -> Ordering,
) -> Vec<T> {
    let end = offset.saturating_add(limit).min(items.len());
    if offset >= end {
        return vec![];
    }
    if end < items.len() {
        items.select_nth_unstable_by(end, &mut cmp);
        items.truncate(end);
    }
    items.sort_unstable_by(cmp);
    items.drain(..offset);
    items
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn list_names_round_trip() {
        for l in [
            PageList::First,
            PageList::Upstream,
            PageList::Downstream,
            PageList::Versions,
            PageList::Hop(-3),
            PageList::Hop(12),
        ] {
            assert_eq!(PageList::parse(&l.param()).unwrap(), l);
        }
        for bad in ["up0", "down", "sideways", "up-1", "down99999", "up1x"] {
            assert_eq!(PageList::parse(bad).unwrap_err().field, "more", "{bad}");
        }
        assert_eq!(
            DetailWindow::parse("", "1000000000").unwrap_err().field,
            "offset"
        );
        assert_eq!(DetailWindow::parse("", "-1").unwrap_err().field, "offset");
    }

    proptest! {
        /// Paging through every window gives the sorted list, each item once.
        #[test]
        fn windows_tile_the_sorted_list(items in prop::collection::vec(0u32..50, 0..120), limit in 1usize..9) {
            let mut sorted = items.clone();
            sorted.sort_unstable();
            let mut paged = vec![];
            let mut offset = 0;
            while offset <= items.len() {
                let w = window_by(items.clone(), offset, limit, |a, b| a.cmp(b));
                prop_assert!(w.len() <= limit);
                paged.extend(w);
                offset += limit;
            }
            prop_assert_eq!(paged, sorted);
        }
    }
}
