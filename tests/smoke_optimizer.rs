mod common;

#[test]
fn qwen3_solves() {
    let r = common::resolved(common::qwen3_task());
    let s = pdplan::solve(&r, None).unwrap();
    print!("{}", pdplan::summary::text(&s.deployment, &s.plans));
}
