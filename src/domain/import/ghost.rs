//! Ghost exports (placeholder until the converter lands).

use super::ImportSource;
use super::convert::Converted;

pub(super) fn convert(
    _source: &ImportSource,
    _out: std::fs::File,
    _site_url: Option<&str>,
) -> Result<Converted, String> {
    Err("not supported yet".into())
}
