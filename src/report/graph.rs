//! The dependency graph as Graphviz dot or Mermaid, clustered by phase.

use std::fmt::Write;

use crate::compile::Compiled;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
}

pub(crate) fn render(compiled: &Compiled, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => dot(compiled),
        GraphFormat::Mermaid => mermaid(compiled),
    }
}

fn dot(compiled: &Compiled) -> String {
    let plan = &compiled.plan;
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&plan.name));
    out.push_str("  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for (p, (phase, steps)) in compiled.steps_by_phase().into_iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{p} {{");
        let _ = writeln!(out, "    label={};", quote(phase));
        for i in steps {
            let step = &plan.steps[i];
            // A step that only checks is drawn differently from one that acts.
            let shape = if step.run.is_none() { " [shape=note]" } else { "" };
            let _ = writeln!(out, "    {}{shape};", quote(&step.id));
        }
        out.push_str("  }\n");
    }
    for &i in compiled.dag.order() {
        for dependency in compiled.dag.dependencies(i) {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quote(&plan.steps[dependency].id),
                quote(&plan.steps[i].id)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// A DOT string: quotes and backslashes escaped, a line break as DOT's
/// `\n`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Mermaid flowchart; node ids are `s<index>` so any step id is safe.
pub(crate) fn mermaid(compiled: &Compiled) -> String {
    let plan = &compiled.plan;
    let mut out = String::from("flowchart LR\n");
    for (p, (phase, steps)) in compiled.steps_by_phase().into_iter().enumerate() {
        let _ = writeln!(out, "  subgraph p{p}[\"{}\"]", mermaid_text(phase));
        for i in steps {
            let step = &plan.steps[i];
            let label = mermaid_text(&step.id);
            if step.run.is_none() {
                let _ = writeln!(out, "    s{i}[/\"{label}\"/]");
            } else {
                let _ = writeln!(out, "    s{i}[\"{label}\"]");
            }
        }
        out.push_str("  end\n");
    }
    for &i in compiled.dag.order() {
        for dependency in compiled.dag.dependencies(i) {
            let _ = writeln!(out, "  s{dependency} --> s{i}");
        }
    }
    out
}

/// Text inside a quoted Mermaid label, shown as written: Mermaid reads
/// `#name;` entity codes and HTML there, so `#`, `"`, `<`, `>` and `&` are
/// written as entity codes; a line break becomes a space.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_for_each_format() {
        let phase = "we\"ird\nphase<b>#quot; & \\";
        assert_eq!(quote(phase), r#""we\"ird\nphase<b>#quot; & \\""#);
        assert_eq!(mermaid_text(phase), "we#quot;ird phase#lt;b#gt;#35;quot; #amp; \\");
    }
}
