// One optimiser step of one parameter: the layer's rule (`optimizer_update`, from the
// generated library `optimizers`: each optimiser's WGSL beside its twin, src/optim/*.rs) on
// the parameter and its moments.
#import optimizers

// Steps parameter `e` of a layer (its index in the parameters buffer) by gradient `g`; its
// moments sit at `moments[e]` and `moments[count + e]`, count = (inputs + 1)·outputs (the
// kernel declares `parameters` and `moments`; plain SGD touches no moment).
fn step_parameter(e: u32, g: f32) {
    var m = 0.0;
    var v = 0.0;
    let slots = optimizer_moments();
    if slots == 0u {
        parameters[e] = optimizer_update(parameters[e], g, &m, &v);
        return;
    }
    let count = (layer.inputs + 1u) * layer.outputs;
    m = moments[e];
    if slots > 1u {
        v = moments[count + e];
    }
    parameters[e] = optimizer_update(parameters[e], g, &m, &v);
    moments[e] = m;
    if slots > 1u {
        moments[count + e] = v;
    }
}
