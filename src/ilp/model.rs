//! The shadow model: one plain description of the ILP that feeds the solver (good_lp + microlp),
//! the CPLEX LP export and the post-solve verifier (STYLE.md 7), so the three cannot drift apart.

use serde::Serialize;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VarKind {
    Binary,
    Integer,
    Continuous,
}

#[derive(Clone, Debug, Serialize)]
pub struct Var {
    pub name: String,
    pub kind: VarKind,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cmp {
    Le,
    Ge,
    Eq,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
            Cmp::Eq => "=",
        }
    }
}

/// A named constraint row `Σ coef·var (cmp) rhs`.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    /// Constraint family (memory, ttft, cover, budget, ...), for reports.
    pub family: String,
    pub terms: Vec<(usize, f64)>,
    pub cmp: Cmp,
    pub rhs: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sense {
    Maximize,
    Minimize,
}

/// A mixed-integer linear model.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub name: String,
    pub sense: Sense,
    /// The objective in words.
    pub objective_name: String,
    pub objective: Vec<(usize, f64)>,
    pub vars: Vec<Var>,
    pub rows: Vec<Row>,
}

/// Absolute tolerance of row and integrality checks (coefficients are kept near unity).
pub use crate::params::TOL;

impl Model {
    pub fn new(name: &str, sense: Sense, objective_name: &str) -> Model {
        Model {
            name: name.to_string(),
            sense,
            objective_name: objective_name.to_string(),
            objective: Vec::new(),
            vars: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn add_var(&mut self, name: String, kind: VarKind, lower: f64, upper: f64) -> usize {
        self.vars.push(Var {
            name,
            kind,
            lower,
            upper,
        });
        self.vars.len() - 1
    }

    pub fn add_row(&mut self, family: &str, name: String, terms: Vec<(usize, f64)>, cmp: Cmp, rhs: f64) {
        self.rows.push(Row {
            name,
            family: family.to_string(),
            terms,
            cmp,
            rhs,
        });
    }

    pub fn var_index(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|v| v.name == name)
    }

    pub fn objective_value(&self, values: &[f64]) -> f64 {
        self.objective.iter().map(|&(v, c)| c * values[v]).sum()
    }

    /// Check a solution against every bound, integrality and row; `Err` lists the violations.
    pub fn verify(&self, values: &[f64]) -> Result<(), String> {
        let mut bad = Vec::new();
        if values.len() != self.vars.len() {
            return Err(format!(
                "{} values for {} variables",
                values.len(),
                self.vars.len()
            ));
        }
        for (v, &x) in self.vars.iter().zip(values) {
            if !x.is_finite() || x < v.lower - TOL || x > v.upper + TOL {
                bad.push(format!("{} = {x} outside [{}, {}]", v.name, v.lower, v.upper));
            }
            if v.kind != VarKind::Continuous && (x - x.round()).abs() > TOL {
                bad.push(format!("{} = {x} is not integral", v.name));
            }
        }
        for r in &self.rows {
            let lhs: f64 = r.terms.iter().map(|&(v, c)| c * values[v]).sum();
            let tol = TOL * (1.0 + r.rhs.abs());
            let ok = match r.cmp {
                Cmp::Le => lhs <= r.rhs + tol,
                Cmp::Ge => lhs >= r.rhs - tol,
                Cmp::Eq => (lhs - r.rhs).abs() <= tol,
            };
            if !ok {
                bad.push(format!(
                    "row {}: {lhs} {} {} violated",
                    r.name,
                    r.cmp.symbol(),
                    r.rhs
                ));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }

    /// The model in CPLEX LP format (read by CBC, GLPK `glpsol --lp`, HiGHS, CPLEX, Gurobi).
    ///
    /// Format choices, so that every one of those readers takes the file as it is:
    /// * names use only letters, digits and `_`, never start with a digit, `.` or `e`, and stay
    ///   far below the 255-character limit (candidate ids such as `x_prefill_tp4_pp1_..._b16`);
    /// * expressions wrap every 6 terms (continuation lines start with a space), so no line comes
    ///   near CPLEX's 560-character line limit;
    /// * numbers are plain decimals that round-trip exactly (Rust's shortest `f64` form, never an
    ///   exponent);
    /// * the objective has no constant term (not every reader accepts one) and an empty
    ///   expression is written `0 v` with the first variable, so every row stays well formed;
    /// * binaries get no bound line (`Binaries` implies [0, 1]); an infinite upper bound is
    ///   written `v >= lower`.
    pub fn to_lp_string(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "\\ pdplan model: {}", self.name);
        let _ = writeln!(s, "\\ objective: {}", self.objective_name);
        let _ = writeln!(
            s,
            "\\ {} variables, {} rows; row families: {}",
            self.vars.len(),
            self.rows.len(),
            self.families().join(", ")
        );
        s.push_str(match self.sense {
            Sense::Maximize => "Maximize\n",
            Sense::Minimize => "Minimize\n",
        });
        let _ = writeln!(s, " obj: {}", self.expr(&self.objective));
        s.push_str("Subject To\n");
        for r in &self.rows {
            let _ = writeln!(
                s,
                " {}: {} {} {}",
                r.name,
                self.expr(&r.terms),
                r.cmp.symbol(),
                num(r.rhs)
            );
        }
        s.push_str("Bounds\n");
        for v in &self.vars {
            if v.kind == VarKind::Binary {
                continue;
            }
            if v.upper.is_finite() {
                let _ = writeln!(s, " {} <= {} <= {}", num(v.lower), v.name, num(v.upper));
            } else {
                let _ = writeln!(s, " {} >= {}", v.name, num(v.lower));
            }
        }
        let list = |kind: VarKind| -> Vec<&str> {
            self.vars
                .iter()
                .filter(|v| v.kind == kind)
                .map(|v| v.name.as_str())
                .collect()
        };
        let generals = list(VarKind::Integer);
        if !generals.is_empty() {
            s.push_str("Generals\n");
            for chunk in generals.chunks(6) {
                let _ = writeln!(s, " {}", chunk.join(" "));
            }
        }
        let binaries = list(VarKind::Binary);
        if !binaries.is_empty() {
            s.push_str("Binaries\n");
            for chunk in binaries.chunks(6) {
                let _ = writeln!(s, " {}", chunk.join(" "));
            }
        }
        s.push_str("End\n");
        s
    }

    /// Row families in order of first appearance.
    pub fn families(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.family.as_str()) {
                out.push(&r.family);
            }
        }
        out
    }

    fn expr(&self, terms: &[(usize, f64)]) -> String {
        if terms.is_empty() {
            // LP format needs a term; a zero-coefficient one keeps the row well formed.
            return format!("0 {}", self.vars.first().map_or("x", |v| v.name.as_str()));
        }
        let mut out = String::new();
        for (i, &(v, c)) in terms.iter().enumerate() {
            if i > 0 {
                out.push_str(if i % 6 == 0 { "\n   " } else { " " });
            }
            let sign = if c < 0.0 {
                "- "
            } else if i > 0 {
                "+ "
            } else {
                ""
            };
            let _ = write!(out, "{sign}{} {}", num(c.abs()), self.vars[v].name);
        }
        out
    }
}

/// A number as a plain decimal that round-trips (LP readers parse plain decimals; Rust's `f64`
/// `Display` is the shortest exact form and never uses an exponent).
fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_catches_violations() {
        let mut m = Model::new("t", Sense::Maximize, "x");
        let x = m.add_var("x".into(), VarKind::Integer, 0.0, 10.0);
        m.add_row("cap", "cap".into(), vec![(x, 1.0)], Cmp::Le, 4.0);
        m.objective = vec![(x, 1.0)];
        assert!(m.verify(&[4.0]).is_ok());
        assert!(m.verify(&[5.0]).unwrap_err().contains("cap"));
        assert!(m.verify(&[3.5]).unwrap_err().contains("integral"));
        assert!(m.verify(&[-1.0]).unwrap_err().contains("outside"));
        let lp = m.to_lp_string();
        assert!(lp.contains("Maximize") && lp.contains(" cap: 1 x <= 4") && lp.contains("Generals\n x"));
    }
}
