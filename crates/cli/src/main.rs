fn main() {
    println!("rlxc");
}
