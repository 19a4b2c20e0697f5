//! The webhook relay: a public server that forwards Zocdoc webhooks over an outbound tunnel to the desk app.
