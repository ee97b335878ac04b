//! Checkpoint files of networks and optimisers: one `<name>.bpk` file each
//! in the run's checkpoint folder, named by the variant, and raw float
//! images (such as CycleGAN's history pools).

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;

use crate::{IMAGE_PIXELS, Result, VariantError};

/// Writes `module` to `<dir>/<name>.bpk`.
pub fn save_module<M: Module>(module: &M, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(format!("{name}.bpk"));
    module
        .clone()
        .into_record()
        .save(&path)
        .map_err(|source| VariantError::Save { path, source })
}

/// `module` with the values of `<dir>/<name>.bpk`.
pub fn load_module<M: Module>(module: M, dir: &Path, name: &str) -> Result<M> {
    let path = dir.join(format!("{name}.bpk"));
    let record = ModuleRecord::load(&path).map_err(|source| VariantError::Load { path, source })?;
    Ok(module.load_record(record))
}

/// Writes the optimiser's state to `<dir>/<name>.bpk`.
pub fn save_optimizer(optim: &ModuleOptimizer, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(format!("{name}.bpk"));
    optim
        .save(&path)
        .map_err(|source| VariantError::Save { path, source })
}

/// `optim` with the state of `<dir>/<name>.bpk`.
pub fn load_optimizer(optim: ModuleOptimizer, dir: &Path, name: &str) -> Result<ModuleOptimizer> {
    let path = dir.join(format!("{name}.bpk"));
    optim
        .load(&path)
        .map_err(|source| VariantError::Load { path, source })
}

/// Writes images (`n * 784` values) to `<dir>/<name>.f32`, little-endian.
pub fn save_images(dir: &Path, name: &str, values: &[f32]) -> Result<()> {
    let path = dir.join(format!("{name}.f32"));
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|source| VariantError::State { path, source })
}

/// Reads what [`save_images`] wrote.
pub fn load_images(dir: &Path, name: &str) -> Result<Vec<f32>> {
    let path = dir.join(format!("{name}.f32"));
    let bytes = std::fs::read(&path).map_err(|source| VariantError::State {
        path: path.clone(),
        source,
    })?;
    if bytes.len() % (4 * IMAGE_PIXELS) != 0 {
        return Err(VariantError::State {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a whole number of 28x28 float images",
            ),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
