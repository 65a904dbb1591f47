//! The dependency graph as Graphviz dot or Mermaid, clustered by phase.

use std::fmt::Write;

use crate::plan::Compiled;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

pub fn render(compiled: &Compiled, format: GraphFormat) -> String {
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
    for (p, phase) in plan.phases.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{p} {{");
        let _ = writeln!(out, "    label={};", quote(phase));
        for &i in compiled.dag.order() {
            let step = &plan.steps[i];
            if &step.phase == phase {
                let shape = if step.run.is_none() { ", shape=note" } else { "" };
                let _ = writeln!(
                    out,
                    "    {}{};",
                    quote(&step.id),
                    if shape.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", &shape[2..])
                    }
                );
            }
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

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Mermaid flowchart; node ids are `s<index>` so any step id is safe.
pub fn mermaid(compiled: &Compiled) -> String {
    let plan = &compiled.plan;
    let mut out = String::from("flowchart LR\n");
    for (p, phase) in plan.phases.iter().enumerate() {
        let _ = writeln!(out, "  subgraph p{p}[\"{}\"]", mermaid_text(phase));
        for &i in compiled.dag.order() {
            let step = &plan.steps[i];
            if &step.phase == phase {
                let label = mermaid_text(&step.id);
                if step.run.is_none() {
                    let _ = writeln!(out, "    s{i}[/\"{label}\"/]");
                } else {
                    let _ = writeln!(out, "    s{i}[\"{label}\"]");
                }
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

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}
