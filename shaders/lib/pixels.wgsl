// Packed u8 images: 4 pixels per u32 word, byte 0 first, each pixel read as value / 255 times
// batch.input_scale (1/(1 − rate) for a training batch with input dropout, else 1).
fn unpack_pixels(word: u32) -> vec4<f32> {
    let bytes = vec4<u32>(word & 0xffu, (word >> 8u) & 0xffu, (word >> 16u) & 0xffu, word >> 24u);
    return vec4<f32>(bytes) / 255.0 * batch.input_scale;
}
