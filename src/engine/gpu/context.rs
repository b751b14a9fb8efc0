//! The GPU context, built once: instance, adapter, device, queue, one pipeline per kernel, the
//! error slots that turn wgpu's asynchronous errors into [`Error::Gpu`], and the readback helper.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wgpu::util::DeviceExt;

use super::kernels::{Access, Kernel, Variant};
use crate::kernel_params::{BatchParams, LayerParams};
use crate::{Error, Result};

/// How long a readback may wait for the GPU before it is reported as hung.
const GPU_TIMEOUT: Duration = Duration::from_secs(600);

/// What to ask for when choosing an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdapterRequest {
    /// The APIs to search, exactly (callers apply `WGPU_BACKEND` where it should win).
    pub backends: wgpu::Backends,
    /// Whether a software adapter (`DeviceType::Cpu`, e.g. lavapipe) may be chosen.
    pub allow_software: bool,
}

/// One adapter as `mnist-gpu devices` lists it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
}

/// Runs `work` and returns the error of kind `filter` it raised. Natively inside an error scope,
/// awaited at once; a browser answers a scope only once its event loop runs, so there no scope
/// is pushed and an error reaches the uncaptured-error slot, which every readback checks.
fn caught<T>(
    device: &wgpu::Device,
    filter: wgpu::ErrorFilter,
    work: impl FnOnce() -> T,
) -> (T, Option<wgpu::Error>) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let scope = device.push_error_scope(filter);
        let value = work();
        (value, pollster::block_on(scope.pop()))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = (device, filter);
        (work(), None)
    }
}

/// Every adapter the given backends expose (`WGPU_BACKEND` honoured).
#[cfg(not(target_arch = "wasm32"))]
pub fn list_adapters(backends: wgpu::Backends) -> Vec<AdapterSummary> {
    let backends = backends.with_env();
    let instance = instance(backends);
    pollster::block_on(instance.enumerate_adapters(backends))
        .into_iter()
        .map(|adapter| AdapterSummary {
            info: adapter.get_info(),
            limits: adapter.limits(),
            features: adapter.features(),
        })
        .collect()
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

/// Best first: real GPUs, then virtual ones, then software; native APIs before GL.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let api = u8::from(info.backend == wgpu::Backend::Gl);
    (device, api)
}

/// Chooses an adapter: the one named by `WGPU_ADAPTER_NAME` (a case-insensitive substring, as
/// `wgpu::util::initialize_adapter_from_env` matches it, without its panic when none matches),
/// else the best ranked one.
async fn choose_adapter(
    instance: &wgpu::Instance,
    request: AdapterRequest,
) -> Result<wgpu::Adapter> {
    let backends = request.backends;
    let mut adapters = instance.enumerate_adapters(backends).await;
    // A browser lists no adapters: it hands out the one it chose for the page.
    if adapters.is_empty() && backends.contains(wgpu::Backends::BROWSER_WEBGPU) {
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        adapters.extend(instance.request_adapter(&options).await.ok());
    }
    let found = adapters.len();
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let wanted = wanted.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&wanted));
        if adapters.is_empty() {
            return Err(Error::NoAdapter(format!(
                "no GPU adapter matches WGPU_ADAPTER_NAME={wanted:?} ({found} found); \
                 `mnist-gpu devices` lists them"
            )));
        }
    } else if !request.allow_software {
        let (software, hardware): (Vec<_>, Vec<_>) = adapters
            .into_iter()
            .partition(|a| a.get_info().device_type == wgpu::DeviceType::Cpu);
        if hardware.is_empty()
            && let Some(soft) = software.first()
        {
            let info = soft.get_info();
            return Err(Error::NoAdapter(format!(
                "only a software GPU adapter was found ({}, {:?}), which trains slower than the CPU path; pass --backend {} to use it anyway",
                info.name,
                info.backend,
                format!("{:?}", info.backend).to_lowercase()
            )));
        }
        adapters = hardware;
    }
    adapters.sort_by_key(|a| rank(&a.get_info()));
    adapters.into_iter().next().ok_or_else(|| {
        Error::NoAdapter(format!(
            "no GPU adapter found for {}; install a driver (for software Vulkan: apt-get install \
             mesa-vulkan-drivers) or use --cpu",
            backend_names(backends)
        ))
    })
}

/// `Vulkan, Metal, DX12` for messages.
fn backend_names(backends: wgpu::Backends) -> String {
    let names: Vec<&str> = [
        (wgpu::Backends::VULKAN, "Vulkan"),
        (wgpu::Backends::METAL, "Metal"),
        (wgpu::Backends::DX12, "DX12"),
        (wgpu::Backends::GL, "GL"),
        (wgpu::Backends::BROWSER_WEBGPU, "WebGPU"),
    ]
    .into_iter()
    .filter(|(flag, _)| backends.contains(*flag))
    .map(|(_, name)| name)
    .collect();
    names.join(", ")
}

/// Errors wgpu reports asynchronously (uncaptured errors, device loss), kept until checked.
#[derive(Default)]
struct ErrorSlot(Mutex<Option<String>>);

impl ErrorSlot {
    fn record(&self, message: String) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(message);
        }
    }

    fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// A compiled pipeline; bind groups follow the layout of its kernel's storage signature.
pub struct Pipeline {
    pipeline: wgpu::ComputePipeline,
}

/// Which limits to open the device with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LimitsRequest {
    /// The adapter's real limits.
    #[default]
    Adapter,
    /// `wgpu::Limits::downlevel_defaults()`: what a conservative device guarantees (tests).
    Downlevel,
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Compiled on first use (engines ask for theirs when they are built, never in a round).
    pipelines: Mutex<HashMap<Variant, Arc<Pipeline>>>,
    /// One bind-group layout per storage signature, shared by every kernel with that signature
    /// (a register-block kernel and its tiled form take the same bind groups).
    layouts: Mutex<HashMap<Vec<Access>, Arc<wgpu::BindGroupLayout>>>,
    errors: Arc<ErrorSlot>,
    /// The readback staging buffer, kept and reused (grown only when a larger read comes), so
    /// a training round's readback allocates nothing.
    staging: Mutex<Option<wgpu::Buffer>>,
}

impl GpuContext {
    /// Opens the chosen adapter with its real limits and compiles every fixed kernel.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(request: AdapterRequest) -> Result<Self> {
        Self::with_limits(request, LimitsRequest::Adapter)
    }

    /// Opens the chosen adapter with the limits `limits` asks for (native, blocking).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_limits(request: AdapterRequest, limits: LimitsRequest) -> Result<Self> {
        pollster::block_on(Self::open(request, limits))
    }

    /// Opens the chosen adapter with the limits `limits` asks for, awaiting the adapter and
    /// the device (a browser tab's way; [`GpuContext::with_limits`] blocks on it).
    pub async fn open(request: AdapterRequest, limits: LimitsRequest) -> Result<Self> {
        let instance = instance(request.backends);
        let adapter = choose_adapter(&instance, request).await?;
        let info = adapter.get_info();
        let limits = match limits {
            LimitsRequest::Adapter => adapter.limits(),
            LimitsRequest::Downlevel => wgpu::Limits::downlevel_defaults(),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("mnist.device"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(one_line(&format!("cannot open {}: {e}", info.name))))?;

        let errors = Arc::new(ErrorSlot::default());
        let uncaptured = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            uncaptured.record(one_line(&e.to_string()));
        }));
        let lost = Arc::clone(&errors);
        device.set_device_lost_callback(move |reason, message| {
            lost.record(format!("device lost ({reason:?}): {message}"));
        });

        let context = GpuContext {
            device,
            queue,
            info,
            limits,
            pipelines: Mutex::new(HashMap::new()),
            layouts: Mutex::new(HashMap::new()),
            errors,
            staging: Mutex::new(None),
        };
        for kernel in Kernel::ALL.into_iter().filter(|k| !k.is_tiled()) {
            context.pipeline(kernel.into())?;
        }
        Ok(context)
    }

    /// `name (backend, device type)`, for `engine: ...`.
    pub fn describe(&self) -> String {
        format!(
            "gpu: {} ({:?}, {:?}), f32 WGSL kernels",
            self.info.name, self.info.backend, self.info.device_type,
        )
    }

    /// The bind-group layout of kernels with `kernel`'s storage signature.
    fn layout(&self, kernel: Kernel) -> Result<Arc<wgpu::BindGroupLayout>> {
        let signature: Vec<Access> = kernel.storage().collect();
        cached(&self.layouts, "layout", signature, |signature| {
            let mut entries = vec![uniform_entry(0, true), uniform_entry(1, false)];
            for (i, access) in signature.iter().enumerate() {
                entries.push(wgpu::BindGroupLayoutEntry {
                    binding: 2 + i as u32,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage {
                            read_only: *access == Access::Read,
                        },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                });
            }
            Ok(self
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(&format!("mnist.{}", kernel.name())),
                    entries: &entries,
                }))
        })
    }

    fn compile(&self, variant: Variant) -> Result<Pipeline> {
        let kernel = variant.kernel;
        if kernel.is_tiled() != variant.tile.is_some() {
            return Err(Error::Gpu(format!(
                "kernel {}: a tile is given exactly to the tiled kernels",
                kernel.name()
            )));
        }
        if let Some(tile) = variant.tile
            && !tile.fits(&self.limits)
        {
            return Err(Error::Gpu(format!(
                "kernel {}: {tile} does not fit this adapter's limits",
                kernel.name()
            )));
        }
        let source = variant.source()?;
        let layout = self.layout(kernel)?;
        let (pipeline, error) = caught(&self.device, wgpu::ErrorFilter::Validation, || {
            let label = format!("mnist.{}", variant.describe());
            let module = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
            let pipeline_layout =
                self.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(&label),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let constants = variant.constants();
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&label),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: None,
                })
        });
        if let Some(e) = error {
            return Err(Error::Gpu(one_line(&format!(
                "kernel {}: {e}",
                variant.describe()
            ))));
        }
        Ok(Pipeline { pipeline })
    }

    /// The pipeline of `variant`, compiled the first time it is asked for.
    pub fn pipeline(&self, variant: Variant) -> Result<Arc<Pipeline>> {
        cached(&self.pipelines, "pipeline", variant, |&variant| {
            self.compile(variant)
        })
    }

    /// Turns any error wgpu reported asynchronously since the last check into `Error::Gpu`.
    pub fn check(&self) -> Result<()> {
        match self.errors.take() {
            Some(message) => Err(Error::Gpu(message)),
            None => Ok(()),
        }
    }

    /// Creates a labelled buffer holding `contents`, usable as storage and copy source/target
    /// (4 zero bytes when empty: a binding may not be empty).
    pub fn buffer_with(&self, name: &str, contents: &[u8]) -> wgpu::Buffer {
        let contents = if contents.is_empty() {
            &[0u8; 4][..]
        } else {
            contents
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(&format!("mnist.{name}")),
                contents,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// Creates a zeroed labelled storage buffer of `bytes` bytes (at least 4).
    pub fn buffer(&self, name: &str, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("mnist.{name}")),
            size: bytes.max(4).next_multiple_of(4),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A uniform buffer of `slots` blocks of `T`, each at the dynamic-offset alignment.
    pub fn uniform_slots<T: bytemuck::Pod>(&self, name: &str, slots: &[T]) -> UniformSlots {
        let stride = self.uniform_stride::<T>();
        let mut bytes = vec![0u8; (slots.len().max(1) as u64 * stride) as usize];
        for (i, slot) in slots.iter().enumerate() {
            let at = i * stride as usize;
            bytes[at..at + size_of::<T>()].copy_from_slice(bytemuck::bytes_of(slot));
        }
        let buffer = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(&format!("mnist.{name}")),
                contents: &bytes,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            });
        UniformSlots {
            buffer,
            stride,
            size: size_of::<T>() as u64,
        }
    }

    fn uniform_stride<T>(&self) -> u64 {
        let align = u64::from(self.limits.min_uniform_buffer_offset_alignment);
        (size_of::<T>() as u64).next_multiple_of(align)
    }

    /// A bind group for `kernel`: the batch slots (dynamic), one layer block, then `storage`.
    pub fn bind_group(
        &self,
        kernel: Kernel,
        batches: &UniformSlots,
        layer: &wgpu::Buffer,
        storage: &[Bound<'_>],
    ) -> Result<wgpu::BindGroup> {
        let layout = self.layout(kernel)?;
        let declared = kernel.spec().interface.storage;
        let names: Vec<&str> = declared.iter().map(|&(name, _)| name).collect();
        let wrong = |why: String| {
            Error::Gpu(format!(
                "kernel {} binds {} storage buffers ({}): {why}",
                kernel.name(),
                names.len(),
                names.join(", ")
            ))
        };
        if let Some((name, _)) = storage.iter().find(|(name, _)| !names.contains(name)) {
            return Err(wrong(format!("it has no binding {name:?}")));
        }
        if storage.len() != names.len() {
            return Err(wrong(format!("got {}", storage.len())));
        }
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &batches.buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(batches.size),
                }),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: layer.as_entire_binding(),
            },
        ];
        // Each buffer goes to the binding its name has in the kernel's WGSL.
        for (i, name) in names.iter().enumerate() {
            let Some((_, buffer)) = storage.iter().find(|(given, _)| given == name) else {
                return Err(wrong(format!("{name} is missing")));
            };
            entries.push(wgpu::BindGroupEntry {
                binding: 2 + i as u32,
                resource: buffer.as_entire_binding(),
            });
        }
        Ok(self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&format!("mnist.{}", kernel.name())),
            layout: &layout,
            entries: &entries,
        }))
    }

    /// A uniform buffer holding one layer block.
    pub fn layer_block(&self, name: &str, layer: LayerParams) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(&format!("mnist.{name}")),
                contents: bytemuck::bytes_of(&layer),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Records one dispatch of `variant` on batch slot `slot`.
    pub fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        variant: impl Into<Variant>,
        group: &wgpu::BindGroup,
        slots: &UniformSlots,
        slot: usize,
        grid: [u32; 3],
    ) -> Result<()> {
        let variant = variant.into();
        let limit = self.limits.max_compute_workgroups_per_dimension;
        if grid.iter().any(|&g| g > limit) {
            return Err(Error::Config(format!(
                "kernel {} needs a {grid:?} workgroup grid, over this adapter's {limit} per \
                 dimension; use a smaller --batch-size",
                variant.describe()
            )));
        }
        if grid.contains(&0) {
            return Ok(());
        }
        pass.set_pipeline(&self.pipeline(variant)?.pipeline);
        pass.set_bind_group(0, group, &[(slot as u64 * slots.stride) as u32]);
        pass.dispatch_workgroups(grid[0], grid[1], grid[2]);
        Ok(())
    }

    /// Submits `encoder` after copying `size` bytes of `source` (from `offset`) into a staging
    /// buffer, and awaits those bytes: the only way data comes back from the GPU. Natively the
    /// device is polled here until the copy is done; in a browser the mapping completes when
    /// its event loop runs, so the future must be awaited there (never blocked on).
    pub async fn submit_and_read_async(
        &self,
        mut encoder: wgpu::CommandEncoder,
        source: &wgpu::Buffer,
        offset: u64,
        size: u64,
    ) -> Result<Vec<u8>> {
        // Taken out while in use (no lock is held across the await): a concurrent reader makes
        // its own buffer, and the larger one is kept.
        let kept = self
            .staging
            .lock()
            .map_err(|_| Error::Gpu("the readback buffer's lock was poisoned".into()))?
            .take();
        let staging = match kept {
            Some(buffer) if buffer.size() >= size => buffer,
            _ => self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("mnist.readback"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        };
        encoder.copy_buffer_to_buffer(source, offset, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = futures_intrusive::channel::shared::oneshot_channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            sender.send(result).ok();
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(GPU_TIMEOUT),
            })
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        self.check()?;
        match receiver.receive().await {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Gpu(format!("mapping a readback buffer: {e}"))),
            None => return Err(Error::Gpu("a readback buffer was never mapped".into())),
        }
        // A browser reports errors of the submitted work by the time the mapping completes.
        self.check()?;
        let bytes = staging
            .get_mapped_range(..size)
            .map_err(|e| Error::Gpu(format!("reading a mapped buffer: {e}")))?
            .to_vec();
        staging.unmap();
        // Kept for the next read (a failed read drops it: it may still be mapped or pending).
        if let Ok(mut slot) = self.staging.lock()
            && slot.as_ref().is_none_or(|b| b.size() < staging.size())
        {
            *slot = Some(staging);
        }
        Ok(bytes)
    }

    /// [`GpuContext::submit_and_read_async`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn submit_and_read(
        &self,
        encoder: wgpu::CommandEncoder,
        source: &wgpu::Buffer,
        offset: u64,
        size: u64,
    ) -> Result<Vec<u8>> {
        pollster::block_on(self.submit_and_read_async(encoder, source, offset, size))
    }

    /// Runs `record` inside an out-of-memory error scope, for allocations that may not fit.
    pub fn allocating<T>(&self, what: &str, record: impl FnOnce() -> T) -> Result<T> {
        match caught(&self.device, wgpu::ErrorFilter::OutOfMemory, record) {
            (value, None) => Ok(value),
            (_, Some(e)) => Err(Error::Gpu(one_line(&format!("allocating {what}: {e}")))),
        }
    }

    /// Dispatches `kernel` once over `storage` and waits (for kernel tests and one-offs).
    pub fn run_once(
        &self,
        variant: impl Into<Variant>,
        batch: BatchParams,
        layer: LayerParams,
        storage: &[Bound<'_>],
    ) -> Result<()> {
        let variant = variant.into();
        let kernel = variant.kernel;
        let slots = self.uniform_slots("batch", &[batch]);
        let block = self.layer_block("layer", layer);
        let group = self.bind_group(kernel, &slots, &block, storage)?;
        let mut encoder = self.encoder();
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&format!("mnist.{}", kernel.name())),
                timestamp_writes: None,
            });
            self.dispatch(
                &mut pass,
                variant,
                &group,
                &slots,
                0,
                variant.workgroups(&batch, &layer),
            )?;
        }
        self.queue.submit([encoder.finish()]);
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(GPU_TIMEOUT),
            })
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        self.check()
    }

    /// Reads a whole buffer back (tests and one-offs; engines count their own readbacks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        self.submit_and_read(self.encoder(), buffer, 0, buffer.size())
    }

    pub fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mnist.commands"),
            })
    }
}

/// A storage buffer for the binding its kernel's WGSL names (`"deltas"`, `"parameters"`…):
/// bind groups are made by name, so the order of the bindings is written once, in the WGSL.
pub type Bound<'a> = (&'a str, &'a wgpu::Buffer);

/// Per-dispatch uniform blocks, one per slot, selected with a dynamic offset.
pub struct UniformSlots {
    pub buffer: wgpu::Buffer,
    /// Bytes between slots (the adapter's uniform offset alignment).
    pub stride: u64,
    /// Bytes of one block.
    pub size: u64,
}

/// wgpu's errors span several indented lines; the CLI prints one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `cache` holds under `key`, else what `make` makes of it, kept there for the next call
/// (the lock held meanwhile, so it is made once); `what` names the cache in the error of a
/// poisoned lock.
fn cached<K: Eq + Hash, V>(
    cache: &Mutex<HashMap<K, Arc<V>>>,
    what: &str,
    key: K,
    make: impl FnOnce(&K) -> Result<V>,
) -> Result<Arc<V>> {
    let mut map = cache
        .lock()
        .map_err(|_| Error::Gpu(format!("the {what} cache's lock was poisoned")))?;
    if let Some(value) = map.get(&key) {
        return Ok(Arc::clone(value));
    }
    let value = Arc::new(make(&key)?);
    map.insert(key, Arc::clone(&value));
    Ok(value)
}

fn uniform_entry(binding: u32, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}
