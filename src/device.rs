//! Choosing the compute device: `--device flex|ndarray|wgpu|cuda`.
//!
//! Each non-default backend sits behind a cargo feature of the same name;
//! asking for one the binary was built without is a clear error naming it.
//! The flag itself is `commands::args::DeviceArg`; the names parse
//! here too, for the device stored with a run.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;
use clap::ValueEnum;

/// The devices `--device` names. The variants carry plain comments, not doc
/// comments: clap would list those under the flag and switch `--help` to its
/// long layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum DeviceChoice {
    // burn-flex on the CPU (the default)
    #[default]
    #[value(alias = "cpu")]
    Flex,
    // burn-ndarray on the CPU (needs the `ndarray` feature)
    Ndarray,
    // a GPU through wgpu: Vulkan, Metal or DX12 (needs the `wgpu` feature)
    #[value(alias = "gpu")]
    Wgpu,
    // an NVIDIA GPU through CUDA (needs the `cuda` feature)
    Cuda,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "unknown device `{0}`; use one of: flex (CPU, default), ndarray (CPU), wgpu (GPU), cuda (NVIDIA GPU)"
    )]
    Unknown(String),
    #[error(
        "this gan-lab was built without the `{0}` feature, so `--device {0}` is not available; \
         rebuild with `cargo build --release --features {0}` or use `--device flex`"
    )]
    NotBuilt(&'static str),
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    /// Parses a device name as stored with a run (any case, with the aliases).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as ValueEnum>::from_str(s.trim(), true)
            .map_err(|_| DeviceError::Unknown(s.to_string()))
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.to_possible_value().expect("no variant is skipped");
        f.write_str(value.get_name())
    }
}

impl DeviceChoice {
    /// The plain (non-autodiff) device.
    pub fn build(self) -> Result<Device, DeviceError> {
        match self {
            DeviceChoice::Flex => Ok(Device::flex()),
            // burn 0.22 deprecates ndarray for flex; it stays selectable.
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceChoice::Ndarray => Ok(Device::ndarray()),
            #[cfg(not(feature = "ndarray"))]
            DeviceChoice::Ndarray => Err(DeviceError::NotBuilt("ndarray")),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(burn::prelude::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            DeviceChoice::Wgpu => Err(DeviceError::NotBuilt("wgpu")),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda => Ok(Device::cuda(0usize)),
            #[cfg(not(feature = "cuda"))]
            DeviceChoice::Cuda => Err(DeviceError::NotBuilt("cuda")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("FLEX".parse::<DeviceChoice>().unwrap(), DeviceChoice::Flex);
        assert_eq!("wgpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Wgpu);
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Flex);
        assert_eq!(DeviceChoice::Ndarray.to_string(), "ndarray");
        let e = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(
            e.contains("unknown device `tpu`") && e.contains("flex"),
            "{e}"
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn missing_feature_is_named() {
        let e = DeviceChoice::Cuda.build().unwrap_err().to_string();
        assert!(
            e.contains("`cuda` feature") && e.contains("--features cuda"),
            "{e}"
        );
    }
}
