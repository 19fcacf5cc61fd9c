//! The README's walkthroughs, "Host a node for your community" and "Run behind a home router",
//! as a reader follows them: every config block in them loads and validates as written, and
//! every `causerie` command in their shell blocks names a real subcommand and only flags that it
//! takes. The network setups themselves are run by `node/tests/deploy.rs` (the service unit and
//! the container image) and `tests/tests/netns_nat.rs` (a node behind NAT through a relay).

#![allow(clippy::unwrap_used, missing_docs)]

use causerie_node::config::{Config, ConfigFile, Overrides};

const README: &str = include_str!("../../README.md");
const WALKTHROUGHS: [&str; 2] = [
    "## Host a node for your community",
    "## Run behind a home router",
];

/// The text of the README section under `heading`, up to the next `## ` heading.
fn section(heading: &str) -> &'static str {
    let start = README
        .find(heading)
        .unwrap_or_else(|| panic!("the README has no section {heading:?}"));
    let body = &README[start + heading.len()..];
    &body[..body.find("\n## ").unwrap_or(body.len())]
}

/// The fenced blocks of `language` in `text`, each without its fence and common indentation
/// (blocks inside list items are indented).
fn blocks(text: &str, language: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == format!("```{language}") => {
                current = Some((line.len() - trimmed.len(), Vec::new()));
            }
            Some((indent, lines)) if trimmed == "```" => {
                let indent = *indent;
                found.push(
                    lines
                        .iter()
                        .map(|l| l.get(indent..).unwrap_or("").to_owned())
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                current = None;
            }
            Some((_, lines)) => lines.push(line),
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```{language} block");
    found
}

#[test]
fn every_walkthrough_config_loads_as_written() {
    for heading in WALKTHROUGHS {
        let configs = blocks(section(heading), "toml");
        assert!(!configs.is_empty(), "{heading}: no config block");
        for text in configs {
            let file: ConfigFile = toml::from_str(&text)
                .unwrap_or_else(|e| panic!("{heading}: the config does not parse: {e}\n{text}"));
            Config::from_parts(file, Overrides::default())
                .unwrap_or_else(|e| panic!("{heading}: the config is refused: {e}\n{text}"));
        }
    }
}

/// Runs the binary with `args` and returns what it printed (help goes to stdout).
fn causerie(args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_causerie"))
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "causerie {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_walkthrough_command_exists_with_its_flags() {
    let mut checked = 0;
    for heading in WALKTHROUGHS {
        for block in blocks(section(heading), "sh") {
            for line in block.lines() {
                let command = line.split(" #").next().unwrap().trim();
                let Some(args) = command.strip_prefix("causerie ") else {
                    continue;
                };
                let words: Vec<&str> = args.split_whitespace().collect();
                // The subcommand path: the words before the first flag or value.
                let path: Vec<&str> = words
                    .iter()
                    .take_while(|w| {
                        !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    })
                    .copied()
                    .collect();
                let mut help_args = path.clone();
                help_args.push("--help");
                let help = causerie(&help_args);
                for flag in words.iter().filter(|w| w.starts_with("--")) {
                    let flag = flag.split('=').next().unwrap();
                    assert!(
                        help.contains(flag),
                        "{heading}: `causerie {}` takes no {flag}:\n{help}",
                        path.join(" ")
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no causerie command in the walkthroughs");
}
