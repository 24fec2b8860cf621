//! String interning for the strings that repeat across spans: service and span names, attribute
//! keys, model and provider names. The interner is owned by the single conversion thread, so it
//! needs no lock. It is bounded: hostile input with endless unique keys cannot grow it past
//! `max_entries`; past that, strings are simply allocated per record (and accounted there).

use std::sync::Arc;

/// An interned (or at least shared, cheaply clonable) string.
pub type Sym = Arc<str>;

/// Strings longer than this are never interned: they are content, not names.
pub const MAX_INTERNED_LEN: usize = 128;
/// Bytes an `Arc<str>` allocation holds beyond the string: its two reference counts.
const ARC_COUNTS: usize = 16;

/// A bounded interner. `V` is a small fact computed once per distinct string and handed back
/// with it (attribute keys carry their semantic class this way); plain interning uses `()`.
#[derive(Debug)]
pub struct Interner<V: Copy = ()> {
    map: foldhash::HashMap<Sym, V>,
    max_entries: usize,
    bytes: usize,
}

impl<V: Copy> Default for Interner<V> {
    fn default() -> Self {
        Self::with_capacity_limit(65_536)
    }
}

impl<V: Copy> Interner<V> {
    pub fn with_capacity_limit(max_entries: usize) -> Self {
        Self {
            map: foldhash::HashMap::default(),
            max_entries,
            bytes: 0,
        }
    }

    /// Returns the shared copy of `s` and its fact, computing both if needed. When the
    /// interner is full or the string is long, returns a fresh unshared `Arc` (its
    /// `strong_count` is then 1, which is how memory accounting tells owned from shared).
    pub fn intern_with(&mut self, s: &str, fact: impl FnOnce(&str) -> V) -> (Sym, V) {
        if let Some((sym, v)) = self.map.get_key_value(s) {
            return (sym.clone(), *v);
        }
        let sym: Sym = Arc::from(s);
        let v = fact(s);
        if s.len() <= MAX_INTERNED_LEN && self.map.len() < self.max_entries {
            // The string, and a table slot plus the clone handed out.
            self.bytes += alloc_size(s.len() + ARC_COUNTS) + 2 * size_of::<Sym>() + size_of::<V>() + 1;
            self.map.insert(sym.clone(), v);
        }
        (sym, v)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Estimated bytes held by the interner itself (strings plus table slots).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Interner<()> {
    pub fn intern(&mut self, s: &str) -> Sym {
        self.intern_with(s, |_| ()).0
    }

    /// Like [`Interner::intern`] but takes ownership, avoiding a copy for unshared long strings.
    pub fn intern_owned(&mut self, s: String) -> Sym {
        if s.len() > MAX_INTERNED_LEN {
            return Arc::from(s);
        }
        self.intern(&s)
    }
}

/// The bytes an allocation of `len` really occupies: the allocator's size class. This follows
/// mimalloc, the global allocator of the binary: 8-byte steps up to 64 bytes, then four classes
/// per power of two. Zero-length allocations cost nothing.
pub fn alloc_size(len: usize) -> usize {
    match len {
        0 => 0,
        1..=64 => len.div_ceil(8) * 8,
        _ => {
            let top = usize::BITS - 1 - (len - 1).leading_zeros();
            let step = 1usize << (top - 2);
            len.div_ceil(step) * step
        }
    }
}

/// Heap bytes a `Sym` costs the record holding it: nothing when it is shared with the interner
/// (counted there), its full allocation when this record owns it alone.
pub fn sym_heap_size(sym: &Sym) -> usize {
    if Arc::strong_count(sym) > 1 {
        0
    } else {
        alloc_size(sym.len() + ARC_COUNTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_strings_share_one_allocation() {
        let mut i = Interner::<()>::default();
        let a = i.intern("gen_ai.request.model");
        let b = i.intern_owned("gen_ai.request.model".to_string());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(i.len(), 1);
        assert_eq!(sym_heap_size(&a), 0, "shared strings are counted by the interner");
    }

    #[test]
    fn long_strings_are_not_interned() {
        let mut i = Interner::<()>::default();
        let long = "x".repeat(MAX_INTERNED_LEN + 1);
        let a = i.intern(&long);
        let b = i.intern(&long);
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(i.is_empty());
        assert!(sym_heap_size(&a) >= long.len());
    }

    #[test]
    fn interner_is_bounded() {
        let mut i = Interner::<()>::with_capacity_limit(10);
        for n in 0..1000 {
            i.intern(&format!("key.{n}"));
        }
        assert_eq!(i.len(), 10);
        let bytes = i.bytes();
        i.intern("another");
        assert_eq!(i.bytes(), bytes, "a full interner stops growing");
    }

    #[test]
    fn facts_are_computed_once_per_string() {
        let mut i = Interner::<u32>::default();
        let mut calls = 0;
        for _ in 0..3 {
            let (_, v) = i.intern_with("gen_ai.system", |k| {
                calls += 1;
                k.len() as u32
            });
            assert_eq!(v, 13);
        }
        assert_eq!(calls, 1);
    }

    #[test]
    fn allocation_sizes_follow_the_allocator_classes() {
        assert_eq!(alloc_size(0), 0);
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(64), 64);
        assert_eq!(alloc_size(65), 80);
        assert_eq!(alloc_size(600), 640);
        assert_eq!(alloc_size(1024), 1024);
        assert_eq!(alloc_size(3000), 3072);
    }
}
