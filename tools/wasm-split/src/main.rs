//! Splits the browser's wasm at Leptos's `#[lazy]` / `#[lazy_route]` points, as cargo-leptos
//! does with `--split` (its `wasm_split_tools`), for scripts/build.sh, which does not use
//! cargo-leptos.
//!
//!   baedal-wasm-split <input.wasm> <pkg dir> <main out.wasm> <js name>
//!
//! `input.wasm` is cargo's output, linked with `--emit-relocs`. Written: the main module to
//! `main out.wasm` (to be bound by `wasm-bindgen --keep-lld-exports`, named `<js name>.js`),
//! and into `pkg dir` the split chunks (`*.wasm`), the loader the wasm imports
//! (`__wasm_split.______________________.js`, which imports `./<js name>.js`) and
//! `__wasm_split_manifest.json` (split → the chunks it needs), which Leptos's
//! `HydrationScripts` reads to preload the chunks a server-rendered page used. Prints the
//! chunks written, one per line.

use std::path::Path;
use std::process::ExitCode;

/// The module path Leptos's `#[lazy]` makes the wasm import its loader from (fixed by
/// leptos_macro; cargo-leptos passes the same).
const LINK_NAME: &str = "./__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";
/// Code that this many lazily loaded pages (or more) need goes into the main module, not into
/// a chunk of its own: with 2, each page's own code is one file, and everything two pages share
/// is in the main module. Upstream makes one chunk per *set* of pages sharing code: with every
/// page lazy that was 36 to 105 files per page, each compressed alone (the customer's home: 83
/// files, 351 KB brotli). With 2 the home is the main module and one file, 330 KB as sent.
/// Sharing at 3 sent 3-5 KB less for most pages but 8 to 13 files per page, each a round trip
/// on a phone's HTTP/1.1 connections (docs/benchmarks.md, issue 16).
/// Overridable for measurements: `BAEDAL_SHARED_INTO_MAIN` (0: upstream's chunks).
const SHARED_INTO_MAIN: usize = 2;

/// Pages counted as one by `SHARED_INTO_MAIN` (by the start of their split modules' names):
/// code only they share goes into one chunk of theirs, which each of them loads, instead of
/// the main module, which everyone loads. The customer's pages past the home (a store's page,
/// checkout, the order list and an order) are reached from the home inside the app, and the two
/// sign-in pages from any page: what only they share was 10.6 KB of brotli in every role's main
/// module; now a store's page, say, costs 2 KB more as a third file (docs/benchmarks.md, issue
/// 16). The home stays two files: in the customers' group it would load 15 KB more.
/// Overridable for measurements: `BAEDAL_PAGE_GROUPS` (`a,b;c,d`; empty: no groups).
const PAGE_GROUPS: &[&[&str]] = &[
    &[
        "__store_page_view_",
        "__checkout_page_view_",
        "__orders_page_view_",
        "__order_page_view_",
    ],
    &["__sign_in_page_view_", "__sign_up_page_view_"],
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out, js_name] = args.as_slice() else {
        eprintln!("usage: baedal-wasm-split <input.wasm> <pkg dir> <main out.wasm> <js name>");
        return ExitCode::from(2);
    };
    match split(
        Path::new(input),
        Path::new(pkg_dir),
        Path::new(main_out),
        js_name,
    ) {
        Ok(chunks) => {
            for chunk in chunks {
                println!("{chunk}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("baedal-wasm-split: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(
    input: &Path,
    pkg_dir: &Path,
    main_out: &Path,
    js_name: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let input_wasm =
        std::fs::read(input).map_err(|e| format!("reading {}: {e}", input.display()))?;
    let main_module = format!("./{js_name}.js");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&input_wasm);
        options.output_dir = pkg_dir;
        options.main_out_path = main_out;
        options.main_module = &main_module;
        options.link_name = LINK_NAME;
        options.shared_into_main = match std::env::var("BAEDAL_SHARED_INTO_MAIN") {
            Ok(at) => match at.parse() {
                Ok(0) => None,
                Ok(at) => Some(at),
                Err(_) => return Err(format!("BAEDAL_SHARED_INTO_MAIN={at}: not a number").into()),
            },
            Err(_) => Some(SHARED_INTO_MAIN),
        };
        options.page_groups = match std::env::var("BAEDAL_PAGE_GROUPS") {
            Ok(groups) => groups
                .split(';')
                .filter(|group| !group.is_empty())
                .map(|group| {
                    group
                        .split(',')
                        .map(str::trim)
                        .filter(|prefix| !prefix.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .filter(|group| !group.is_empty())
                .collect(),
            Err(_) => PAGE_GROUPS
                .iter()
                .map(|group| group.iter().map(|page| page.to_string()).collect())
                .collect(),
        };
        options
    })
    .map_err(|e| format!("splitting {}: {e:#}", input.display()))?;
    std::fs::write(
        pkg_dir.join(MANIFEST),
        serde_json::to_string_pretty(&split.prefetch_map)?,
    )?;
    Ok(split
        .split_modules
        .iter()
        .map(|path| path.display().to_string())
        .collect())
}
