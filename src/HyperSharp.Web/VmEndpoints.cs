using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Checkpoints;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Web.Access;
using HyperSharp.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HyperSharp.Web;

/// <summary>
/// The pages and the actions behind their buttons, each handed to the host's own VmManager (the same calls the gRPC
/// service makes). A refused action shows the page again with the host's own message; a done one redirects (POST,
/// redirect, GET), so a reload never repeats it.
/// </summary>
internal static class VmEndpoints
{
    /// <summary>
    /// Who the host's path checks see: the subject of the browser's client certificate over TLS, else "web console";
    /// either way a remote administrator, naming files in the host's storage paths only.
    /// </summary>
    private static ClientIdentity Client(HttpContext context) =>
        new RemoteAdministrator(context.Connection.ClientCertificate?.Subject ?? "web console");

    /// <summary>Operations run to the end even if the browser goes away (as the gRPC service does).</summary>
    private static readonly CancellationToken Detached = CancellationToken.None;

    private delegate Task VmAction(VmManager manager, ManagedVm vm, IFormCollection form, ClientIdentity client);

    private static readonly Dictionary<string, VmAction> Actions = new()
    {
        ["start"] = (m, vm, _, _) => m.Lifecycle.StartAsync(vm, Detached),
        ["shutdown"] = (m, vm, _, _) => m.Lifecycle.StopAsync(vm, new StopOptions(), Detached),
        ["turnoff"] = (m, vm, _, _) => m.Lifecycle.StopAsync(vm, new StopOptions(TurnOff: true), Detached),
        ["save"] = (m, vm, _, _) => m.Lifecycle.SaveAsync(vm, Detached),
        ["pause"] = (m, vm, _, _) => m.Lifecycle.SuspendAsync(vm, Detached),
        ["resume"] = (m, vm, _, _) => m.Lifecycle.ResumeAsync(vm, Detached),
        ["restart"] = (m, vm, _, _) => m.Lifecycle.RestartAsync(vm, Detached),
        ["checkpoint"] = (m, vm, _, _) => m.Checkpoints.CreateAsync(vm, null, Detached),
        ["settings"] = (m, vm, form, client) => Task.FromResult(m.Configuration.Update(vm, SettingsChange(vm, form), client)),
        ["checkpoints/apply"] = (m, vm, form, _) => m.Checkpoints.RestoreAsync(vm, Checkpoint(vm, form).Id, Detached),
        // Add-, Connect-/Disconnect- and Remove-VMNetworkAdapter (live on a running VM, as the host does them).
        ["adapters/add"] = (m, vm, form, _) => m.Networking.AddAdapterAsync(vm, new NewNetworkAdapter(Text(form, "name"), Text(form, "switch"), null), Detached),
        ["adapters/connect"] = (m, vm, form, _) => m.Networking.UpdateAdapterAsync(vm, new AdapterRef(form["adapter"].ToString(), ""), new NetworkAdapterChange { SwitchName = form["switch"].ToString() }, Detached),
        ["adapters/remove"] = (m, vm, form, _) => m.Networking.RemoveAdapterAsync(vm, new AdapterRef(form["adapter"].ToString(), ""), Detached),
        ["drives/add"] = (m, vm, form, client) => m.Configuration.AddDiskAsync(vm, new NewDiskDrive(Text(form, "path"), form["readOnly"] == "true", ControllerType.Scsi, 0, null), client, Detached),
        ["drives/remove"] = (m, vm, form, _) => m.Configuration.RemoveDiskAsync(vm, DriveAt(form), Detached),
        ["memory"] = (m, vm, form, _) => m.Memory.SetAsync(vm, MemoryChange(vm, form)),
        ["integration"] = (m, vm, form, _) => m.Integration.SetAsync(vm, form["service"].ToString(), form["enabled"] == "true", Detached),
        ["checkpoints/delete"] = (m, vm, form, _) => m.Checkpoints.RemoveAsync(vm, Checkpoint(vm, form).Id, includeChildren: false, Detached),
    };

    public static void Map(IEndpointRouteBuilder app, HostCalls host, AccessToken token, Usage.UsageSampler usage)
    {
        const string Html = "text/html; charset=utf-8";
        var manager = host.Manager;
        app.MapGet("/", async Task<IResult> (HttpContext context) =>
            Results.Content(await HostPage.RenderAsync(manager, token.AntiForgery, context.RequestAborted, MovedNotice(context.Request.Query)).ConfigureAwait(false), Html));
        app.MapGet("/events", (HttpContext context) => Live.VmRowStream.ServeAsync(context, manager, usage));
        app.MapGet("/vms/new", () => Results.Content(NewVmPage.Render(token.AntiForgery, new Dictionary<string, string>(), null), Html));
        app.MapGet("/vms/{id}", async (string id, HttpContext context) =>
        {
            var vm = Find(manager, id);
            return vm is null ? NotFound(id) : Results.Content(await VmPage.RenderAsync(manager, vm, token.AntiForgery, null, context.RequestAborted).ConfigureAwait(false), Html);
        });
        app.MapGet("/vms/{id}/console", (string id, HttpContext context) => Find(manager, id) is { } vm ? Live.ConsoleSocket.ServeAsync(context, vm) : Task.CompletedTask);

        app.MapPost("/vms", async Task<IResult> (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            try
            {
                var vm = manager.Configuration.Create(NewVmFrom(manager, form), Client(context));
                return Results.Redirect($"/vms/{vm.Id:D}");
            }
            catch (HostException e)
            {
                var given = form.ToDictionary(f => f.Key, f => f.Value.ToString());
                return Results.Content(NewVmPage.Render(token.AntiForgery, given, e.Message), Html, null, Status(e));
            }
        });
        app.MapPost("/vms/{id}/delete", async (string id) =>
        {
            var vm = Find(manager, id);
            if (vm is null) return NotFound(id);
            try { await manager.Configuration.RemoveAsync(vm, force: true, Detached).ConfigureAwait(false); }
            catch (HostException e) { return await Refused(manager, vm, token, e).ConfigureAwait(false); }
            return Results.Redirect("/");
        });
        MoveEndpoints.Map(app, host, token);
        app.MapPost("/vms/{id}/{**verb}", async (string id, string verb, HttpContext context) =>
        {
            var vm = Find(manager, id);
            if (vm is null) return NotFound(id);
            if (!Actions.TryGetValue(verb, out var action)) return Results.Text($"no action '{verb}' on a VM\n", "text/plain", null, StatusCodes.Status404NotFound);
            var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            try { await action(manager, vm, form, Client(context)).ConfigureAwait(false); }
            catch (HostException e) { return await Refused(manager, vm, token, e).ConfigureAwait(false); }
            return Results.Redirect($"/vms/{vm.Id:D}");
        });
    }

    /// <summary>After a move (see <see cref="MoveEndpoints"/>): where the VM went and what the move took, from the redirect's query.</summary>
    private static string? MovedNotice(IQueryCollection query) =>
        query["moved"].ToString() is { Length: > 0 } name
            ? $"VM '{name}' moved to {query["to"]} and runs there (the move took {query["ms"]} ms, the VM paused {query["downtime"]} ms)."
            : null;

    internal static ManagedVm? Find(VmManager manager, string id) =>
        Guid.TryParse(id, out var guid) ? manager.List(null).FirstOrDefault(vm => vm.Id == guid) : null;

    internal static IResult NotFound(string id) =>
        Results.Text($"no VM with id {id} on this host (deleted?)\n", "text/plain", null, StatusCodes.Status404NotFound);

    internal static async Task<IResult> Refused(VmManager manager, ManagedVm vm, AccessToken token, HostException e) =>
        Results.Content(await VmPage.RenderAsync(manager, vm, token.AntiForgery, e.Message, CancellationToken.None).ConfigureAwait(false), "text/html; charset=utf-8", null, Status(e));

    internal static int Status(HostException e) => e.Kind switch
    {
        HostErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
        HostErrorKind.NotFound => StatusCodes.Status404NotFound,
        HostErrorKind.PermissionDenied => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status409Conflict,
    };

    private static NewVm NewVmFrom(VmManager manager, IFormCollection form)
    {
        string name = form["name"].ToString().Trim();
        long? diskGb = Number(form, "diskGb", "New virtual hard disk");
        // The new disk goes to the host's own disk folder (Hyper-V's default), made when it is first needed.
        if (diskGb is not null) Directory.CreateDirectory(manager.VirtualHardDiskPath);
        return new NewVm(name)
        {
            MemoryStartupBytes = Number(form, "memoryMb", "Startup memory") is { } mb ? mb << 20 : null,
            ProcessorCount = (int?)Number(form, "processors", "Virtual processors"),
            KernelPath = Text(form, "kernel"), InitrdPath = Text(form, "initrd"), KernelCommandLine = Text(form, "cmdline"),
            Backend = Text(form, "backend"),
            NewVhdPath = diskGb is null ? null : Path.Combine(manager.VirtualHardDiskPath, $"{name}.vhdx"),
            NewVhdSizeBytes = diskGb is { } gb ? gb << 30 : 0,
        };
    }

    private static VmSettingsChange SettingsChange(ManagedVm vm, IFormCollection form)
    {
        string? name = Text(form, "name");
        int? processors = (int?)Number(form, "processors", "Virtual processors");
        long? memory = Number(form, "memoryMb", "Startup memory") is { } mb ? mb << 20 : null;
        string notes = form["notes"].ToString();
        CheckpointType? checkpoints = Text(form, "checkpointType") is not { } type ? null
            : Enum.TryParse<CheckpointType>(type, out var parsed) && Enum.IsDefined(parsed) ? parsed
            : throw HostErrors.Invalid("Checkpoint type", $"'{type}' is not one of {string.Join(", ", VmPage.CheckpointTypes.Select(t => t.Type))}");
        var c = vm.Config;
        // Only what the form changed: an unchanged processor count must not refuse the change of a running VM's notes.
        return new VmSettingsChange
        {
            NewName = name == c.Name ? null : name,
            ProcessorCount = processors == c.Processor.Count ? null : processors,
            MemoryStartupBytes = memory == c.Memory.StartupBytes ? null : memory,
            Notes = notes == c.Notes ? null : notes,
            CheckpointType = checkpoints == c.CheckpointType ? null : checkpoints,
            KernelPath = Changed(form, "kernel", c.Boot.KernelPath),
            InitrdPath = Changed(form, "initrd", c.Boot.InitrdPath ?? ""),
            KernelCommandLine = Changed(form, "cmdline", c.Boot.CommandLine),
        };
    }

    /// <summary>Where the drive to remove sits, from the row's hidden fields.</summary>
    private static DriveLocation DriveAt(IFormCollection form) => new(
        Enum.TryParse<ControllerType>(form["controllerType"].ToString(), out var type) ? type : ControllerType.Unspecified,
        (int)(Number(form, "controllerNumber", "Controller number") ?? 0), (int)(Number(form, "controllerLocation", "Controller location") ?? 0));

    /// <summary>The Memory form as Set-VMMemory's change: only what differs is sent, each checked by the host.</summary>
    private static VmMemoryChange MemoryChange(ManagedVm vm, IFormCollection form)
    {
        var c = vm.Config.Memory;
        bool dynamic = form["dynamic"] == "true";
        long? minimum = Number(form, "minimumMb", "Minimum RAM") is { } min ? min << 20 : null;
        long? maximum = Number(form, "maximumMb", "Maximum RAM") is { } max ? max << 20 : null;
        int? buffer = (int?)Number(form, "buffer", "Memory buffer");
        return new VmMemoryChange
        {
            DynamicMemoryEnabled = dynamic == c.DynamicMemoryEnabled ? null : dynamic,
            MinimumBytes = minimum == c.MinimumBytes ? null : minimum,
            MaximumBytes = maximum == c.MaximumBytes ? null : maximum,
            Buffer = buffer == c.Buffer ? null : buffer,
        };
    }

    private static HyperSharp.Inventory.CheckpointRecord Checkpoint(ManagedVm vm, IFormCollection form) =>
        VmCheckpoints.Resolve(vm, form["checkpoint"].ToString(), null);

    /// <summary>A boot field as typed when it differs from <paramref name="current"/> (empty: none), else null; a form without the field changes nothing.</summary>
    private static string? Changed(IFormCollection form, string field, string current) =>
        form.ContainsKey(field) && form[field].ToString().Trim() is var text && text != current.Trim() ? text : null;

    private static string? Text(IFormCollection form, string field) => form[field].ToString().Trim() is { Length: > 0 } text ? text : null;

    /// <summary>A whole number from a form field, or null when empty; anything else is refused naming the field.</summary>
    private static long? Number(IFormCollection form, string field, string label) =>
        Text(form, field) is not { } text ? null
        : long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) && n <= int.MaxValue ? n
        : throw HostErrors.Invalid(label, $"'{text}' is not a whole number");
}
