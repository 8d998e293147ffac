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
        for o in outcomes.iter().filter(|o| !o.row.note.is_empty()) {
            println!("note {}: {}", o.row.id, o.row.note);
        }
    }
    Ok(0)
}
