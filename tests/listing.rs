//! `gan-lab list` and `gan-lab show` as a user sees them (snapshots of two
//! tiny seeded runs on generated data).

use crate::common::*;

#[test]
fn list_and_show_read_like_this() {
    let lab = Lab::with_fake_data(40);
    for name in ["first", "second"] {
        let spec = tiny_spec(lab.path(), name, "Mlp", "NonSaturating", 2);
        lab.ok(&["run", spec.to_str().unwrap()]);
    }
    let list = lab.ok(&["list"]);
    let show = lab.ok(&["show", "second"]);
    // Loss columns in `list`, latest metrics in `show`.
    let (four, six) = (redact_values(4), redact_values(6));
    insta::with_settings!({filters => filters(&[(four.as_str(), "#.####")])}, {
        insta::assert_snapshot!("list", list);
    });
    insta::with_settings!({filters => filters(&[(six.as_str(), "#.######")])}, {
        insta::assert_snapshot!("show", show);
    });
}
