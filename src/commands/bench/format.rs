//! The bench report as aligned tables.

use super::BenchReport;

/// The report as aligned tables.
pub(super) fn format_report(r: &BenchReport) -> String {
    use crate::util::table::table;
    let m = &r.machine;
    let load: Vec<String> = m.load.iter().map(|l| format!("{l:.2}")).collect();
    let mut out = format!(
        "gan-lab {} on {} ({} CPUs, load {}), device {}\n\nTraining (img/s: real images per second of train_step)\n",
        m.gan_lab,
        m.host,
        m.cpus,
        load.join(" "),
        m.device
    );
    let mut rows = vec![vec![
        "spec".to_string(),
        "variant".into(),
        "batch".into(),
        "steps".into(),
        "img/s".into(),
    ]];
    for t in &r.training {
        rows.push(vec![
            t.spec.clone(),
            t.variant.clone(),
            t.batch.to_string(),
            t.steps.to_string(),
            format!("{:.0}", t.img_per_s),
        ]);
    }
    out += &table(&rows);
    out += "\nReference DCGAN vs PyTorch (alternating rounds)\n";
    match &r.torch.skipped {
        Some(reason) => out += &format!("  skipped: {reason}\n"),
        None => {
            let mut rows = vec![vec![
                "batch".to_string(),
                "gan-lab img/s".into(),
                "PyTorch img/s".into(),
                "ratio".into(),
            ]];
            let list = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for row in &r.torch.rows {
                rows.push(vec![
                    row.batch.to_string(),
                    list(&row.gan_lab_img_per_s),
                    list(&row.torch_img_per_s),
                    format!("{:.2}x", row.ratio),
                ]);
            }
            out += &table(&rows);
        }
    }
    out += "\nOther measurements\n";
    let t = &r.tracker;
    let mut rows = vec![
        vec!["what".to_string(), "result".into()],
        vec![
            format!(
                "tracker writes ({} points, batches of {})",
                t.points, t.batch
            ),
            format!("{:.0} points/s", t.points_per_s),
        ],
    ];
    let s = &r.scoring;
    rows.push(match &s.skipped {
        Some(reason) => vec![
            format!("scoring {} images", s.images),
            format!("skipped: {reason}"),
        ],
        None => vec![
            format!("scoring {} images (all metrics)", s.images),
            format!(
                "{:.2} s (+ {:.2} s loading the evaluator)",
                s.seconds, s.setup_seconds
            ),
        ],
    });
    rows.push(vec![
        format!(
            "peak memory of `gan-lab run {}` ({} steps)",
            r.memory.spec, r.memory.steps
        ),
        format!("{:.0} MiB", r.memory.peak_rss_mib),
    ]);
    out += &table(&rows);
    out
}
