//! The "day in the life" replay: an ordinary developer's day of lines, decided by the
//! built binary in a realistic home and two projects pushed to bare remotes on disk
//! (built by `scripts/day-in-the-life.sh`). No line of the day may be refused, and
//! every line of the must-stop list, run in the same place, must still be stopped.

use std::process::Command;

#[test]
fn an_ordinary_day_is_not_refused_and_destruction_still_is() {
    let root = env!("CARGO_MANIFEST_DIR");
    let bash = ["/bin/bash", "/usr/bin/bash"]
        .into_iter()
        .find(|b| std::path::Path::new(b).exists())
        .expect("bash is installed");
    let out = Command::new(bash)
        .arg(format!("{root}/scripts/day-in-the-life.sh"))
        .args(["--bin", env!("CARGO_BIN_EXE_backstop")])
        .output()
        .expect("run the replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the replay failed:\n{stdout}\n{stderr}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("day in the life: "))
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    let lines: usize = summary
        .trim_start_matches("day in the life: ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a line count");
    assert!(lines >= 200, "the day has {lines} lines, fewer than 200");
    assert!(summary.contains(" 0 refused"), "{summary}");
    // The one large file git holds is let through with where it comes back from.
    assert!(summary.contains(", 1 allowed with a note"), "{summary}");
    let stopped = stdout
        .lines()
        .find(|l| l.starts_with("must stop: "))
        .expect("a must-stop line");
    let (n, of) = stopped
        .trim_start_matches("must stop: ")
        .trim_end_matches(" stopped")
        .split_once(" of ")
        .expect("N of M");
    assert_eq!(n, of, "{stopped}\n{stdout}");
    assert!(of.parse::<usize>().expect("a count") >= 15, "{stopped}");
}
