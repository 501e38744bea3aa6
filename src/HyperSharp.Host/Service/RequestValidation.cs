using HyperSharp.Inventory;
using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service;

/// <summary>
/// The allowed range of every request value, checked before anything changes. Each failure is an
/// INVALID_ARGUMENT that names the parameter (the proto field) and what is allowed.
/// </summary>
public static class RequestValidation
{
    public const int MaxProcessors = 240;
    public const long MinMemoryBytes = 32L << 20;
    public const long MaxMemoryBytes = 12L << 40;
    public const long MemoryGranularity = 2L << 20;
    public const int MaxNameLength = 100;
    public const int MaxNotesLength = 4000;
    public const int MaxStartDelaySeconds = 86400;
    public const int MaxControllers = 4, MaxScsiLocations = 64, MaxIdeControllers = 2, MaxIdeLocations = 2;
    private static readonly string[] Backends = ["auto", "kvm", "emulated"];

    /// <summary>
    /// A name for a VM, switch or adapter (<paramref name="what"/>): 1 to 100 characters, none of them a control or format
    /// character (newlines, zero-width and bidirectional marks: two names must not look alike yet differ) nor / \ * ?.
    /// </summary>
    public static string Name(string parameter, string? name, string what = "VM")
    {
        if (string.IsNullOrWhiteSpace(name)) throw HostErrors.Invalid(parameter, $"a {what} needs a name (1 to {MaxNameLength} characters)");
        if (name.Length > MaxNameLength) throw HostErrors.Invalid(parameter, $"'{DisplayText.Escape(name[..20])}...' is {name.Length} characters; 1 to {MaxNameLength} are allowed");
        if (name.EnumerateRunes().Any(DisplayText.IsInvisible) || name.Any(c => c is '/' or '\\' or '*' or '?'))
            throw HostErrors.Invalid(parameter, $"'{DisplayText.Escape(name)}' holds a character a {what} name may not have (control or format characters such as newlines, zero-width or bidirectional marks; / \\ * ?)");
        if (name != name.Trim()) throw HostErrors.Invalid(parameter, $"'{name}' begins or ends with a space");
        return name;
    }

    public static int Processors(string parameter, int count) => count is >= 1 and <= MaxProcessors ? count
        : throw HostErrors.Invalid(parameter, $"{count} virtual processors: 1 to {MaxProcessors} are allowed");

    public static long Memory(string parameter, long bytes)
    {
        if (bytes is < MinMemoryBytes or > MaxMemoryBytes)
            throw HostErrors.Invalid(parameter, $"{bytes} bytes: memory must be from {MinMemoryBytes >> 20} MiB to {MaxMemoryBytes >> 40} TiB");
        if (bytes % MemoryGranularity != 0)
            throw HostErrors.Invalid(parameter, $"{bytes} bytes: memory must be a multiple of 2 MiB");
        return bytes;
    }

    public static int Generation(string parameter, int generation) => generation is 1 or 2 ? generation
        : throw HostErrors.Invalid(parameter, $"generation {generation}: 1 or 2 are allowed");

    /// <summary>
    /// The firmware a new VM boots through: "bios" (Generation 1 only: SeaBIOS from its disks) or "" (its kernel, which it
    /// then needs at start); not given, a Generation 1 VM without a kernel boots through the BIOS. UEFI comes later.
    /// </summary>
    public static string Firmware(string parameter, string? firmware, int generation, bool hasKernel)
    {
        if (firmware is null) return generation == 1 && !hasKernel ? BootFirmware.Bios : BootFirmware.None;
        string value = firmware.ToLowerInvariant();
        if (value is "none" or "") return BootFirmware.None;
        if (value != BootFirmware.Bios) throw HostErrors.Invalid(parameter, $"'{firmware}': bios (Generation 1) or none (boot the kernel) are allowed; UEFI for Generation 2 is not available yet");
        if (generation != 1) throw HostErrors.Invalid(parameter, "bios firmware is Generation 1's; create the VM with generation 1");
        return BootFirmware.Bios;
    }

    public static string Backend(string parameter, string? backend)
    {
        var value = string.IsNullOrEmpty(backend) ? "auto" : backend.ToLowerInvariant();
        return Backends.Contains(value) ? value : throw HostErrors.Invalid(parameter, $"'{backend}': auto, kvm or emulated are allowed");
    }

    public static string Notes(string parameter, string? notes) => (notes ?? "").Length <= MaxNotesLength ? notes ?? ""
        : throw HostErrors.Invalid(parameter, $"{notes!.Length} characters: at most {MaxNotesLength} are allowed");

    public static int Range(string parameter, int value, int min, int max, string what) => value >= min && value <= max ? value
        : throw HostErrors.Invalid(parameter, $"{value}: {what} must be from {min} to {max}");

    public static T Defined<T>(string parameter, T value) where T : struct, Enum
    {
        if (Enum.IsDefined(value) && Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) != 0) return value;
        var allowed = string.Join(", ", Enum.GetNames<T>().Where(n => n != "Unspecified"));
        throw HostErrors.Invalid(parameter, $"{value}: one of {allowed} is allowed");
    }

    /// <summary>A path the host can use: absolute (the host does not share the client's working directory), normalised.</summary>
    public static string AbsolutePath(string parameter, string path)
    {
        if (!Path.IsPathFullyQualified(path)) throw HostErrors.Invalid(parameter, $"'{path}' is relative: the host needs an absolute path");
        return Path.GetFullPath(path);
    }

    /// <summary>Storage QoS in normalized IOPS: neither negative, and a maximum (when set) not below the minimum, as Hyper-V requires.</summary>
    public static void StorageQos(long maximumIops, long minimumIops)
    {
        if (maximumIops < 0) throw HostErrors.Invalid("maximum_iops", $"{maximumIops}: 0 (no limit) or a positive number of normalized IOPS is allowed");
        if (minimumIops < 0) throw HostErrors.Invalid("minimum_iops", $"{minimumIops}: 0 (none) or a positive number of normalized IOPS is allowed");
        if (maximumIops != 0 && maximumIops < minimumIops)
            throw HostErrors.Invalid("maximum_iops", $"{maximumIops}: the maximum must not be below the minimum ({minimumIops} IOPS)");
    }

    public static (int Number, int Location) DiskLocation(ControllerType type, int number, int location)
    {
        bool ide = type == ControllerType.Ide;
        Range("controller_number", number, 0, (ide ? MaxIdeControllers : MaxControllers) - 1, $"the {type} controller number");
        Range("controller_location", location, 0, (ide ? MaxIdeLocations : MaxScsiLocations) - 1, $"the location on a {type} controller");
        return (number, location);
    }
}
