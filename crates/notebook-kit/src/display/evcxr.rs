//! evcxr's display protocol: a value shows richly in Jupyter when its `evcxr_display`
//! method prints a MIME-typed block to stdout. evcxr keeps only the last block of each
//! MIME type per cell, so a figure with several images must be one image.

use std::io::Write;

use base64::Engine;

/// Prints one display block. Written in one call so that nothing else printed at the
/// same time can land inside it.
pub(crate) fn emit(mime: &str, content: &str) {
    // A closed stdout leaves nowhere to show the value, and no one to tell.
    let _ = write_block(&mut std::io::stdout().lock(), mime, content);
}

fn write_block(out: &mut impl Write, mime: &str, content: &str) -> std::io::Result<()> {
    let block = format!(
        "EVCXR_BEGIN_CONTENT {mime}\n{}\nEVCXR_END_CONTENT\n",
        content.trim_end_matches('\n')
    );
    out.write_all(block.as_bytes())?;
    out.flush()
}

pub(crate) fn emit_png(png: &[u8]) {
    emit(
        "image/png",
        &base64::engine::general_purpose::STANDARD.encode(png),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn block_format_is_what_evcxr_parses() {
        let mut out = Vec::new();
        super::write_block(&mut out, "text/html", "<b>hi</b>\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "EVCXR_BEGIN_CONTENT text/html\n<b>hi</b>\nEVCXR_END_CONTENT\n"
        );
    }
}
