//! A component built against another world than the contract: it exports a
//! `greet` function instead of `preflight:plugin/validator`. The gate must
//! refuse it as the wrong world.

mod bindings {
    wit_bindgen::generate!({
    inline: "
        package hostile:wrong@0.1.0;

        world greeter {
            export greet: func() -> string;
        }
    ",
        world: "greeter",
    });
}

struct Greeter;

impl bindings::Guest for Greeter {
    fn greet() -> String {
        "not a validator".to_owned()
    }
}

bindings::export!(Greeter with_types_in bindings);
