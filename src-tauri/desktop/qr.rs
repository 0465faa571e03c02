//! The QR code of a two-step set-up, drawn here (the `qrcode` crate) as one SVG path that the
//! window draws with its own SVG elements: no image file, no network, no script in the markup.

use crate::core::{Error, Result};
use qrcode::{Color, QrCode};
use serde::Serialize;

/// Modules of light border around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// A QR code as an SVG path of its dark modules, in a square of `size` units. (No `Debug`:
/// the path spells what the code holds, a secret.)
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QrImage {
    pub size: usize,
    pub path: String,
}

pub fn draw(text: &str) -> Result<QrImage> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| Error::Internal(format!("cannot draw the QR code: {e}")))?;
    let width = code.width();
    let mut path = String::new();
    for (index, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (index % width + QUIET_ZONE, index / width + QUIET_ZONE);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Ok(QrImage {
        size: width + 2 * QUIET_ZONE,
        path,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_code_is_a_square_of_dark_modules_inside_its_quiet_zone() {
        let image = super::draw("otpauth://totp/Keyward:ann?secret=JBSWY3DPEHPK3PXP").unwrap();
        // Version 3 (29 modules) or so, with 4 modules of border on each side.
        assert!(image.size >= 29 + 8, "{}", image.size);
        assert!(
            image.path.starts_with("M4 4h1v1h-1z"),
            "the finder pattern's corner"
        );
        assert!(!image.path.contains(&format!("M{} ", image.size - 4)));
    }
}
