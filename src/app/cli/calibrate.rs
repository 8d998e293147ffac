//! `pdplan calibrate`: predicted vs measured for every published row (`cost::calibration`).

use crate::cost::calibration;
use crate::error::{Error, Result};

pub fn run(json: bool) -> Result<i32> {
    let outcomes = calibration::outcomes()?;
    if json {
        let v = serde_json::to_value(&outcomes).map_err(|e| Error::Internal(e.to_string()))?;
        print!("{}", crate::app::output::json_string(&v));
    } else {
        print!("{}", calibration::table(&outcomes));
        // One line per distinct note, naming every row it explains (several rows of one source
        // share a note), in the order the rows are printed.
        let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
        for o in outcomes.iter().filter(|o| !o.row.note.is_empty()) {
            match notes.iter_mut().find(|(text, _)| *text == o.row.note) {
                Some((_, ids)) => ids.push(o.row.id),
                None => notes.push((o.row.note, vec![o.row.id])),
            }
        }
        for (text, ids) in notes {
            println!("note {}: {}", ids.join(", "), text);
        }
    }
    Ok(0)
}
