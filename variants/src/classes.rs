//! The classes of the data: Fashion-MNIST's class names by label, the
//! aliases a name may be given by (`--class`, caption words), and the lookup
//! from a name to its label.
//!
//! This is data, not text generation: captions, the variants' panels and
//! grids, and the root crate's data loading all read the classes from here.
//! It imports nothing of this crate.

/// Fashion-MNIST's classes, by label index.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// How many classes there are.
pub const NUM_CLASSES: usize = CLASS_NAMES.len();

/// The names each class answers to, as [`name_key`] writes them, by class
/// index; the first is the key of the class's own name.
pub const CLASS_ALIASES: [&[&str]; NUM_CLASSES] = [
    &["tshirttop", "tshirt", "tshirts", "tee", "top", "tops"],
    &["trouser", "trousers", "pants"],
    &["pullover", "pullovers", "sweater", "sweaters"],
    &["dress", "dresses"],
    &["coat", "coats"],
    &["sandal", "sandals"],
    &["shirt", "shirts"],
    &["sneaker", "sneakers"],
    &["bag", "bags"],
    &["ankleboot", "ankleboots", "boot", "boots"],
];

/// The key a name is compared by: lower-case letters and digits only, so
/// that `"Ankle-Boot"` reads as `"ankleboot"`.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The class of a name such as `"Ankle boot"`, `"sneakers"` or `"T-shirt"`
/// (case, spaces and punctuation ignored).
pub fn class_index(name: &str) -> Option<usize> {
    let key = name_key(name);
    CLASS_ALIASES.iter().position(|a| a.contains(&key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_alias_finds_its_class() {
        for (c, name) in CLASS_NAMES.iter().enumerate() {
            assert_eq!(class_index(name), Some(c), "{name}");
            assert_eq!(CLASS_ALIASES[c][0], name_key(name), "{name}");
            for alias in CLASS_ALIASES[c] {
                assert_eq!(class_index(alias), Some(c), "{alias}");
            }
        }
        assert_eq!(class_index("Ankle boot"), Some(9));
        assert_eq!(class_index("T-shirt/top"), Some(0));
        assert_eq!(class_index("hat"), None);
        assert_eq!(name_key("Mid-Tone"), "midtone");
    }
}
