//! The words of captions: the [`Vocabulary`] a caption is read with (a
//! word outside it is an error that lists the known words), the sentences
//! written for training (a few templates with synonyms, class words among
//! the aliases of [`crate::classes`], random omission of attributes:
//! [`Vocabulary::training_caption`]) and mismatched captions for the
//! matching-aware discriminators.
//!
//! The thresholds and the vocabulary travel with a checkpoint
//! ([`CaptionBook::save`]), so a trained model reads captions as it learned them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{Rng, rngs::StdRng};

use super::captions::{ATTRIBUTES, Caption, Thresholds};
use crate::classes::{CLASS_ALIASES, NUM_CLASSES, name_key};

/// How captions name each class (each normalises to one of its aliases).
const CLASS_PHRASES: [&[&str]; NUM_CLASSES] = [
    &["t-shirt", "tee", "top"],
    &["trousers", "pants"],
    &["pullover", "sweater"],
    &["dress"],
    &["coat"],
    &["sandal"],
    &["shirt"],
    &["sneaker"],
    &["bag"],
    &["ankle boot", "boot"],
];

/// Sentence templates: `{}` is the attributes and the class.
const TEMPLATES: [&str; 5] = [
    "a {}",
    "a photo of a {}",
    "{}",
    "an image of a {}",
    "the {}",
];

/// Words that carry no field.
const FILLERS: [&str; 7] = ["a", "an", "the", "photo", "image", "picture", "of"];

#[derive(Debug, thiserror::Error)]
pub enum CaptionError {
    #[error("unknown word `{word}` in caption \"{caption}\"; the known words are: {known}")]
    UnknownWord {
        word: String,
        caption: String,
        known: String,
    },
    #[error(
        "caption \"{caption}\" names no garment; name one such as {examples} (e.g. \"a dark dress\")"
    )]
    NoClass { caption: String, examples: String },
    #[error("caption \"{caption}\" gives the {field} twice (`{first}` and `{second}`); keep one")]
    Twice {
        caption: String,
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("could not read captions file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
}

pub type Result<T, E = CaptionError> = std::result::Result<T, E>;

/// What a vocabulary word means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    Filler,
    Class(u8),
    /// Attribute index and bin.
    Attr(usize, u8),
}

/// The words captions may use (normalised), each with its meaning; a
/// word's token is its index plus one (0 pads).
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    pub words: Vec<(String, Meaning)>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        let mut words: Vec<(String, Meaning)> = FILLERS
            .iter()
            .map(|w| (w.to_string(), Meaning::Filler))
            .collect();
        for (a, attr) in ATTRIBUTES.iter().enumerate() {
            for (b, synonyms) in attr.bins.iter().enumerate() {
                words.extend(
                    synonyms
                        .iter()
                        .map(|w| (name_key(w), Meaning::Attr(a, b as u8))),
                );
            }
        }
        for (c, aliases) in CLASS_ALIASES.iter().enumerate() {
            words.extend(
                aliases
                    .iter()
                    .map(|w| (w.to_string(), Meaning::Class(c as u8))),
            );
        }
        Self { words }
    }
}

impl Vocabulary {
    /// Tokens (1-based word indices; 0 pads).
    pub fn size(&self) -> usize {
        self.words.len() + 1
    }

    fn lookup(&self, word: &str) -> Option<(u32, Meaning)> {
        self.words
            .iter()
            .position(|(w, _)| w == word)
            .map(|i| (i as u32 + 1, self.words[i].1))
    }

    /// The known words, grouped by what they say.
    pub fn known_words(&self) -> String {
        let group = |keep: &dyn Fn(&Meaning) -> bool| {
            self.words
                .iter()
                .filter(|(_, m)| keep(m))
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut out = format!("garments: {}", group(&|m| matches!(m, Meaning::Class(_))));
        for (a, attr) in ATTRIBUTES.iter().enumerate() {
            let _ = write!(
                out,
                "; {}: {}",
                attr.name,
                group(&|m| matches!(m, Meaning::Attr(x, _) if *x == a))
            );
        }
        let _ = write!(out, "; other: {}", group(&|m| matches!(m, Meaning::Filler)));
        out
    }

    /// What `text` says and its tokens. Words are split at spaces and
    /// normalised; two neighbours that form a known word ("ankle boot",
    /// "mid tone") read as one.
    pub fn read(&self, text: &str) -> Result<(Caption, Vec<u32>)> {
        let raw: Vec<&str> = text.split_whitespace().collect();
        let keys: Vec<String> = raw.iter().map(|w| name_key(w)).collect();
        let mut tokens = Vec::new();
        let mut class: Option<(u8, String)> = None;
        let mut attrs: [Option<(u8, String)>; 3] = [None, None, None];
        let mut i = 0;
        while i < keys.len() {
            if keys[i].is_empty() {
                i += 1;
                continue;
            }
            let pair = keys.get(i + 1).map(|next| format!("{}{next}", keys[i]));
            let (word, width) = match pair.as_deref().and_then(|p| self.lookup(p)) {
                Some(found) => (found, 2),
                None => match self.lookup(&keys[i]) {
                    Some(found) => (found, 1),
                    None => {
                        return Err(CaptionError::UnknownWord {
                            word: raw[i].to_string(),
                            caption: text.to_string(),
                            known: self.known_words(),
                        });
                    }
                },
            };
            let said = raw[i..i + width].join(" ");
            let (token, meaning) = word;
            let twice = |field: &'static str, first: &str| CaptionError::Twice {
                caption: text.to_string(),
                field,
                first: first.to_string(),
                second: said.clone(),
            };
            match meaning {
                Meaning::Filler => {}
                Meaning::Class(c) => match &class {
                    Some((_, first)) => return Err(twice("garment", first)),
                    None => class = Some((c, said.clone())),
                },
                Meaning::Attr(a, b) => match &attrs[a] {
                    Some((_, first)) => return Err(twice(ATTRIBUTES[a].name, first)),
                    None => attrs[a] = Some((b, said.clone())),
                },
            }
            tokens.push(token);
            i += width;
        }
        let Some((class, _)) = class else {
            return Err(CaptionError::NoClass {
                caption: text.to_string(),
                examples: "dress, sneaker, ankle boot, t-shirt, bag".into(),
            });
        };
        Ok((
            Caption {
                class,
                attrs: attrs.map(|a| a.map(|(b, _)| b)),
            },
            tokens,
        ))
    }

    /// The canonical sentence of a caption: "a dark wide plain dress".
    pub fn canonical(caption: &Caption) -> String {
        let mut words: Vec<&str> = vec!["a"];
        for (a, bin) in caption.attrs.iter().enumerate() {
            if let Some(b) = bin {
                words.push(ATTRIBUTES[a].bins[*b as usize][0]);
            }
        }
        words.push(CLASS_PHRASES[caption.class as usize][0]);
        words.join(" ")
    }

    /// A training sentence for an image described by `full`: each attribute
    /// kept with probability `1 - omit`, in random order, with random
    /// synonyms, class word and template. Returns what it says and the text.
    pub fn training_caption(full: &Caption, omit: f32, rng: &mut StdRng) -> (Caption, String) {
        let mut said = *full;
        for a in said.attrs.iter_mut() {
            if rng.random::<f32>() < omit {
                *a = None;
            }
        }
        (said, Self::sentence(&said, rng))
    }

    /// A sentence saying exactly `caption`, with random wording.
    pub fn sentence(caption: &Caption, rng: &mut StdRng) -> String {
        let mut order: Vec<usize> = (0..3).filter(|&a| caption.attrs[a].is_some()).collect();
        order.shuffle(rng);
        let mut words: Vec<&str> = order
            .iter()
            .map(|&a| {
                let synonyms = ATTRIBUTES[a].bins[caption.attrs[a].unwrap_or(0) as usize];
                synonyms[rng.random_range(0..synonyms.len())]
            })
            .collect();
        let phrases = CLASS_PHRASES[caption.class as usize];
        words.push(phrases[rng.random_range(0..phrases.len())]);
        TEMPLATES[rng.random_range(0..TEMPLATES.len())].replace("{}", &words.join(" "))
    }

    /// A caption that differs from `said` in at least one field it states:
    /// the class (half of the time, or when no attribute is stated) or one
    /// stated attribute, changed to another value.
    pub fn mismatch(said: &Caption, rng: &mut StdRng) -> Caption {
        let stated: Vec<usize> = (0..3).filter(|&a| said.attrs[a].is_some()).collect();
        let mut wrong = *said;
        if stated.is_empty() || rng.random::<bool>() {
            let classes = NUM_CLASSES as u8;
            wrong.class = (said.class + rng.random_range(1..classes)) % classes;
        } else {
            let a = stated[rng.random_range(0..stated.len())];
            let bins = ATTRIBUTES[a].bins.len() as u8;
            let b = said.attrs[a].unwrap_or(0);
            wrong.attrs[a] = Some((b + rng.random_range(1..bins)) % bins);
        }
        wrong
    }
}

/// The vocabulary and the thresholds, as saved with a checkpoint.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CaptionBook {
    pub vocabulary: Vocabulary,
    /// `None` until fitted on the training split.
    pub thresholds: Option<Thresholds>,
}

const FILE: &str = "captions.txt";

impl CaptionBook {
    /// Writes `captions.txt` into `dir`: one `word` line per vocabulary word
    /// (`word <text> filler | class <k> | <attribute> <bin>`), one `cuts`
    /// line per class and attribute.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let mut text =
            String::from("# gan-lab captions: vocabulary and per-class attribute cuts\n");
        for (word, meaning) in &self.vocabulary.words {
            let _ = match meaning {
                Meaning::Filler => writeln!(text, "word {word} filler"),
                Meaning::Class(c) => writeln!(text, "word {word} class {c}"),
                Meaning::Attr(a, b) => writeln!(text, "word {word} {} {b}", ATTRIBUTES[*a].name),
            };
        }
        for (c, per_attr) in self
            .thresholds
            .iter()
            .flat_map(|t| t.cuts.iter().enumerate())
        {
            for (a, cuts) in per_attr.iter().enumerate() {
                let values: Vec<String> = cuts.iter().map(|v| format!("{v:?}")).collect();
                let _ = writeln!(text, "cuts {c} {} {}", ATTRIBUTES[a].name, values.join(" "));
            }
        }
        std::fs::write(dir.join(FILE), text)
    }

    /// Reads what [`CaptionBook::save`] wrote.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE);
        let bad = |reason: String| CaptionError::File {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let attr_index = |name: &str| ATTRIBUTES.iter().position(|a| a.name == name);
        let mut words = Vec::new();
        let mut cuts: Vec<[Vec<f32>; 3]> = vec![Default::default(); NUM_CLASSES];
        let mut any_cuts = false;
        for (n, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let at = |what: &str| bad(format!("line {}: {what}: `{line}`", n + 1));
            let number = |i: usize| -> Option<u64> { fields.get(i)?.parse().ok() };
            match fields.as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["word", word, "filler"] => words.push((word.to_string(), Meaning::Filler)),
                ["word", word, "class", _] => {
                    let c = number(3)
                        .filter(|&c| (c as usize) < NUM_CLASSES)
                        .ok_or_else(|| at("bad class"))?;
                    words.push((word.to_string(), Meaning::Class(c as u8)));
                }
                ["word", word, attr, _] => {
                    let a = attr_index(attr).ok_or_else(|| at("unknown attribute"))?;
                    let b = number(3)
                        .filter(|&b| (b as usize) < ATTRIBUTES[a].bins.len())
                        .ok_or_else(|| at("bad bin"))?;
                    words.push((word.to_string(), Meaning::Attr(a, b as u8)));
                }
                ["cuts", _, attr, values @ ..] => {
                    let c = number(1)
                        .filter(|&c| (c as usize) < NUM_CLASSES)
                        .ok_or_else(|| at("bad class"))?;
                    let a = attr_index(attr).ok_or_else(|| at("unknown attribute"))?;
                    let values: Vec<f32> = values
                        .iter()
                        .map(|v| v.parse::<f32>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| at("bad number"))?;
                    cuts[c as usize][a] = values;
                    any_cuts = true;
                }
                _ => return Err(at("unreadable line")),
            }
        }
        Ok(Self {
            vocabulary: Vocabulary { words },
            thresholds: any_cuts.then_some(Thresholds { cuts }),
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::super::captions::block;
    use super::*;
    use crate::classes::class_index;

    #[test]
    fn the_caption_builder_is_deterministic_and_reads_back() {
        let vocab = Vocabulary::default();
        let full = Caption {
            class: 9,
            attrs: [Some(0), Some(1), Some(1)],
        };
        let make = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20)
                .map(|_| Vocabulary::training_caption(&full, 0.3, &mut rng))
                .collect::<Vec<_>>()
        };
        let a = make(7);
        assert_eq!(a, make(7));
        assert_ne!(a, make(8));
        // Every sentence says what the builder says it does, and some omit fields.
        for (said, text) in &a {
            assert_eq!(vocab.read(text).unwrap().0, *said, "{text}");
            assert_eq!(said.class, 9);
        }
        assert!(a.iter().any(|(s, _)| s.attrs.contains(&None)));
        assert_eq!(
            Vocabulary::canonical(&full),
            "a dark wide patterned ankle boot"
        );
        let (caption, tokens) = vocab.read("A Dark  Ankle-Boot").unwrap();
        assert_eq!(
            caption,
            Caption {
                class: 9,
                attrs: [Some(0), None, None]
            }
        );
        assert_eq!(tokens.len(), 3);
        assert_eq!(vocab.read("mid tone tee").unwrap().0.attrs[0], Some(1));
        // A mismatch differs in a stated field.
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let said = Caption {
                class: 2,
                attrs: [None, Some(1), None],
            };
            let wrong = Vocabulary::mismatch(&said, &mut rng);
            assert!(
                wrong.class != said.class || wrong.attrs[1] != said.attrs[1],
                "{wrong:?}"
            );
            assert_eq!((wrong.attrs[0], wrong.attrs[2]), (None, None));
        }
    }

    #[test]
    fn every_class_phrase_is_an_alias_of_its_class() {
        for (c, phrases) in CLASS_PHRASES.iter().enumerate() {
            for p in *phrases {
                assert_eq!(class_index(p), Some(c), "{p}");
            }
        }
    }

    #[test]
    fn an_unknown_word_lists_the_known_words() {
        let err = Vocabulary::default()
            .read("a sparkly dress")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown word `sparkly`"), "{err}");
        for word in ["dress", "ankleboot", "dark", "patterned", "wide", "photo"] {
            assert!(err.contains(word), "{word}: {err}");
        }
        let twice = Vocabulary::default()
            .read("a dark light dress")
            .unwrap_err();
        assert!(twice.to_string().contains("tone twice"), "{twice}");
        let none = Vocabulary::default().read("a dark one").unwrap_err();
        assert!(matches!(none, CaptionError::UnknownWord { .. }), "{none}");
        let none = Vocabulary::default().read("a dark photo").unwrap_err();
        assert!(matches!(none, CaptionError::NoClass { .. }), "{none}");
    }

    #[test]
    fn the_book_saves_and_loads() {
        let dir = tempfile_dir();
        let images: Vec<f32> = (0..4)
            .flat_map(|i| block(6 + 4 * i, 20, 0.5, 0.0))
            .collect();
        let book = CaptionBook {
            vocabulary: Vocabulary::default(),
            thresholds: Some(Thresholds::fit(&images, &[1, 1, 7, 7])),
        };
        book.save(&dir).unwrap();
        assert_eq!(CaptionBook::load(&dir).unwrap(), book);
        std::fs::write(dir.join(FILE), "word x class 12\n").unwrap();
        let err = CaptionBook::load(&dir).unwrap_err().to_string();
        assert!(err.contains("line 1: bad class"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gan-lab-captions-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
