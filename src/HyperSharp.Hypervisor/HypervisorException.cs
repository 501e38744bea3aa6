namespace HyperSharp.Hypervisor;

/// <summary>A backend refused or failed an operation; the message says what was wrong and what to do.</summary>
public class HypervisorException : Exception
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public HypervisorException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    public HypervisorException(string message, Exception inner) : base(message, inner) { }
}
