namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// A VM's power state as the host's lifecycle keeps it (Hyper-V's State). The numbers are the API's VmState's, so that
/// the projection maps one to the other by value (a test holds them equal).
/// </summary>
public enum PowerState
{
    Unspecified = 0,
    Off = 1,
    Starting = 2,
    Running = 3,
    Stopping = 4,
    Saving = 5,
    Saved = 6,
    Pausing = 7,
    Paused = 8,
    Resuming = 9,
    Resetting = 10,
}
