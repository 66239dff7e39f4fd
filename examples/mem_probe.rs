fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find(|l| l.starts_with("VmRSS")).unwrap().split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
        / 1024
}
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let mut cache = govdeck::cache::Cache::open(std::path::Path::new(&path)).unwrap();
    println!("open {} MiB", rss());
    let t = std::time::Instant::now();
    let apps = govdeck::cache::catalog::apps(cache.conn()).unwrap();
    println!("apps {} MiB {:?}", rss(), t.elapsed());
    let t = std::time::Instant::now();
    let approvals = govdeck::cache::catalog::approvals(cache.conn()).unwrap();
    println!("approvals {} MiB {:?}", rss(), t.elapsed());
    cache.conn().execute_batch("PRAGMA shrink_memory").unwrap();
    println!("shrink {} MiB", rss());
    drop(approvals);
    println!("drop approvals {} MiB", rss());
    let t = std::time::Instant::now();
    let data = cache.read(|conn| govdeck::console::load_data(conn, "x")).unwrap();
    println!("load_data {} MiB {:?}", rss(), t.elapsed());
    drop(apps);
    println!("drop apps {} MiB", rss());
    let settings = govdeck::app::UiSettings::load("dark", "default", None, false);
    let t = std::time::Instant::now();
    let app = govdeck::app::App::new(data, settings, chrono::Utc::now());
    println!("App::new {} MiB {:?}", rss(), t.elapsed());
    drop(app);
}
