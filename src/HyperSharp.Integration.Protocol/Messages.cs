using System.Text.Json.Serialization;

namespace HyperSharp.Integration.Protocol;

/// <summary>Every frame's type. Control messages carry JSON; data frames (file bytes, exec streams) carry raw bytes.</summary>
public enum MessageType : ushort
{
    Hello = 1,
    Error = 2,
    Ok = 3,
    HeartbeatRequest = 10,
    HeartbeatReply = 11,
    ShutdownRequest = 20,
    TimeSyncRequest = 30,
    TimeSyncReply = 31,
    KvpSet = 40,
    KvpDelete = 41,
    KvpEnumerate = 42,
    KvpItems = 43,
    GuestInfoRequest = 44,
    GuestInfo = 45,
    FreezeRequest = 50,
    FreezeReply = 51,
    ThawRequest = 52,
    CopyFileBegin = 60,
    FileData = 61,
    CopyFileEnd = 62,
    ExecStart = 70,
    ExecStarted = 71,
    ExecStdin = 72,
    ExecStdinClose = 73,
    ExecSignal = 74,
    ExecStdout = 75,
    ExecStderr = 76,
    ExecExit = 77,
    UpdateOffer = 80,
    UpdateData = 81,
    UpdateEnd = 82,
}

public sealed record HelloMessage(int[] Versions, string Software, string[] Services);
public sealed record ErrorMessage(string Message);
public sealed record HeartbeatReplyMessage(double UptimeSeconds);
public sealed record ShutdownRequestMessage(string Reason);
public sealed record TimeSyncRequestMessage(long UnixTimeMicroseconds);
/// <summary>The guest clock's offset from the host's before it was set (guest − host), and whether it was set.</summary>
public sealed record TimeSyncReplyMessage(long OffsetMicroseconds, bool Set);
public sealed record KvpSetMessage(KvpPool Pool, string Key, string Value);
public sealed record KvpDeleteMessage(KvpPool Pool, string Key);
public sealed record KvpEnumerateMessage(KvpPool Pool);
public sealed record KvpItem(string Key, string Value);
public sealed record KvpItemsMessage(KvpPool Pool, KvpItem[] Items);
public sealed record NetworkAdapterInfo(string Name, string MacAddress, string[] IPv4Addresses, string[] IPv6Addresses);
public sealed record GuestInfoMessage(string HostName, string OSName, string OSVersion, string KernelVersion, NetworkAdapterInfo[] Adapters);
public sealed record FreezeRequestMessage(int TimeoutSeconds);
/// <summary>The mount points frozen (in mount order) or thawed (in reverse).</summary>
public sealed record FreezeReplyMessage(string[] MountPoints);
public sealed record CopyFileBeginMessage(string Path, long Length, bool CreateFullPath, bool Overwrite, int Mode);
public sealed record CopyFileEndMessage(string Sha256);
/// <summary>
/// A command to start. With <see cref="User"/> (protocol 4) it runs as that guest account once the agent has checked
/// <see cref="Password"/> against the guest's /etc/shadow; refused credentials end it with <see cref="ExecExitCodes.CredentialsRefused"/>.
/// </summary>
public sealed record ExecStartMessage(string[] Arguments, string? WorkingDirectory, Dictionary<string, string>? Environment, string? User = null, string? Password = null);

/// <summary>Exit codes the agent gives a command it could not run as asked.</summary>
public static class ExecExitCodes
{
    /// <summary>The guest refused the account or password of <see cref="ExecStartMessage.User"/> (sysexits' EX_NOPERM); stderr says why.</summary>
    public const int CredentialsRefused = 77;
}
public sealed record ExecStartedMessage(int ProcessId);
public sealed record ExecSignalMessage(int Signal);
/// <summary>A finished command: its exit code, or the signal that ended it (then ExitCode is 128 + signal, as shells report).</summary>
public sealed record ExecExitMessage(int ExitCode, int Signal);

/// <summary>An agent update offered by the host: its version, size, SHA-256 (hex) and the publisher's signature (DER, base64) on <see cref="AgentUpdateStatement"/>.</summary>
public sealed record UpdateOfferMessage(string Version, long Length, string Sha256, string Signature);

/// <summary>Source-generated JSON for the messages: no reflection, so the NativeAOT agent can use it.</summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(HelloMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(HeartbeatReplyMessage))]
[JsonSerializable(typeof(ShutdownRequestMessage))]
[JsonSerializable(typeof(TimeSyncRequestMessage))]
[JsonSerializable(typeof(TimeSyncReplyMessage))]
[JsonSerializable(typeof(KvpSetMessage))]
[JsonSerializable(typeof(KvpDeleteMessage))]
[JsonSerializable(typeof(KvpEnumerateMessage))]
[JsonSerializable(typeof(KvpItemsMessage))]
[JsonSerializable(typeof(GuestInfoMessage))]
[JsonSerializable(typeof(FreezeRequestMessage))]
[JsonSerializable(typeof(FreezeReplyMessage))]
[JsonSerializable(typeof(CopyFileBeginMessage))]
[JsonSerializable(typeof(CopyFileEndMessage))]
[JsonSerializable(typeof(ExecStartMessage))]
[JsonSerializable(typeof(ExecStartedMessage))]
[JsonSerializable(typeof(ExecSignalMessage))]
[JsonSerializable(typeof(ExecExitMessage))]
[JsonSerializable(typeof(UpdateOfferMessage))]
public sealed partial class ProtocolJson : JsonSerializerContext;
