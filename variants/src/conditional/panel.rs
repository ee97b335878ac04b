//! The conditional variant's report panel: the evaluator's accuracy and the
//! intra-class FID per class, and the final grid with its rows named by
//! class.

use super::ConditionalConfig;
use crate::classes::{CLASS_NAMES, NUM_CLASSES};
use crate::panel::{Bars, Panel, PanelTable, RunView};

/// The panel of one run.
pub fn panel(cfg: &ConditionalConfig, run: &RunView) -> Panel {
    let acc: Vec<Option<f64>> = (0..NUM_CLASSES)
        .map(|c| run.value(&format!("class_acc_{c}")))
        .collect();
    let fid: Vec<Option<f64>> = (0..NUM_CLASSES)
        .map(|c| run.value(&format!("intra_fid_{c}")))
        .collect();
    let step = run.step("cond_acc");
    let text = match (run.value("cond_acc"), step) {
        (Some(total), Some(step)) => format!(
            "Conditioning: {} ({}). At step {step}, the evaluator assigned {:.1}% of the generated images to the class they were asked for; below, that share per class and the FID within each class (lower is better). The weakest class is {}.",
            cfg.conditioning,
            cfg.arch,
            100.0 * total,
            acc.iter()
                .enumerate()
                .filter_map(|(c, a)| a.map(|a| (c, a)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or_else(
                    || "unknown".into(),
                    |(c, a)| format!("{} ({:.1}%)", CLASS_NAMES[c], 100.0 * a)
                )
        ),
        _ => format!(
            "Conditioning: {} ({}). No evaluation was recorded, so there is no per-class accuracy; add an `eval` section to the spec to measure it.",
            cfg.conditioning, cfg.arch
        ),
    };
    let has_acc = acc.iter().any(Option::is_some);
    let cell = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| "-".into(), f);
    Panel {
        title: "Per-class results".into(),
        text,
        bars: has_acc.then(|| Bars {
            title: "accuracy per class (share assigned to the requested class)".into(),
            labels: CLASS_NAMES.iter().map(|n| n.to_string()).collect(),
            values: acc.iter().map(|a| a.unwrap_or(0.0)).collect(),
            max: Some(1.0),
        }),
        table: has_acc.then(|| PanelTable {
            header: vec!["class".into(), "accuracy".into(), "intra-class FID".into()],
            rows: (0..NUM_CLASSES)
                .map(|c| {
                    vec![
                        format!("{c} {}", CLASS_NAMES[c]),
                        cell(acc[c], |a| format!("{:.1}%", 100.0 * a)),
                        cell(fid[c], |f| format!("{f:.1}")),
                    ]
                })
                .collect(),
        }),
        grid_row_labels: Some(CLASS_NAMES.iter().map(|n| n.to_string()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VariantConfig;

    #[test]
    fn the_panel_shows_each_class_and_names_the_weakest() {
        let mut run = RunView::default();
        run.latest.insert("cond_acc".into(), (500, 0.8));
        for c in 0..NUM_CLASSES {
            let acc = if c == 6 { 0.3 } else { 0.9 };
            run.latest.insert(format!("class_acc_{c}"), (500, acc));
            run.latest
                .insert(format!("intra_fid_{c}"), (500, 100.0 + c as f64));
        }
        let panel = ConditionalConfig::default().panel(&run).unwrap();
        assert!(panel.text.contains("80.0%"), "{}", panel.text);
        assert!(
            panel.text.contains("weakest class is Shirt (30.0%)"),
            "{}",
            panel.text
        );
        let bars = panel.bars.unwrap();
        assert_eq!(bars.labels.len(), 10);
        assert_eq!(bars.values[6], 0.3);
        let table = panel.table.unwrap();
        assert_eq!(table.rows[9], vec!["9 Ankle boot", "90.0%", "109.0"]);
        assert_eq!(panel.grid_row_labels.unwrap()[7], "Sneaker");

        let empty = ConditionalConfig::default()
            .panel(&RunView::default())
            .unwrap();
        assert!(empty.bars.is_none() && empty.table.is_none());
        assert!(empty.text.contains("No evaluation was recorded"));
    }
}
