// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EscrowBase} from "./EscrowBase.sol";
import {EscrowBatches} from "./EscrowBatches.sol";
import {IGameEscrow} from "./IGameEscrow.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {TensorRoot} from "./TensorRoot.sol";

/// @title InferenceEscrow
/// @notice A client escrows a model's fee for one input; the model's provider is paid when the
///         result is final: at once with a zk proof (Zk), or after a challenge window with a
///         bonded claim that a DisputeGame (Optimistic) or a zk proof (OnDemand) can overturn
///         (docs/optimistic.md "Requests and claims"). After the deadline an unserved request
///         is refunded. All payouts are credits withdrawn with `withdraw()` (pull payments).
/// @dev Overpayment: anything sent above the fee is credited back to the client at once, so
///      the provider earns exactly the advertised fee and a client never loses a rounding excess.
///      No admin and no initializer: the game is fixed at deployment (`GameMismatch`).
///      State, errors, events and shared helpers: EscrowBase.sol; batched claims:
///      EscrowBatches.sol.
contract InferenceEscrow is EscrowBatches, IGameEscrow {
    constructor(
        address registry_,
        address game_,
        uint64 fulfilTimeout_,
        uint64 challengeWindow_,
        uint64 provingWindow_
    ) EscrowBase(registry_, game_, fulfilTimeout_, challengeWindow_, provingWindow_) {}

    // ---- requests ------------------------------------------------------------------------

    /// @notice Escrow the model's current fee for `inputHash` (Zk and OnDemand models);
    ///         `maxFee` caps what may be taken.
    /// @dev The fee is read at execution time, not when the client quoted it, so without a cap
    ///      a provider could see the request in the mempool and front-run it with setFee to
    ///      pocket everything the client sent (clients often send a margin). FeeAboveMax makes
    ///      the request fail instead; the client keeps its money and can re-quote.
    function request(uint256 modelId, bytes32 inputHash, uint256 maxFee)
        external
        payable
        returns (uint256 requestId)
    {
        return _requestHashed(modelId, inputHash, maxFee, address(0), 0);
    }

    /// @notice `request` whose final result is also delivered to `callback.onResult` with at
    ///         most `callbackGas` gas (IInferenceConsumer).
    function requestWithCallback(
        uint256 modelId,
        bytes32 inputHash,
        uint256 maxFee,
        address callback,
        uint256 callbackGas
    ) external payable returns (uint256 requestId) {
        return _requestHashed(modelId, inputHash, maxFee, callback, callbackGas);
    }

    /// @notice Escrow the fee of an optimistic model for `input`: every input tensor's values in
    ///         slot order, row-major, 4 bytes big-endian each. The escrow commits to the input
    ///         itself (its tensor roots), so the game starts from exactly what the client sent.
    /// @dev The input is public (event and calldata), so any watcher can re-execute the model
    ///      without the provider's help.
    function requestOptimistic(
        uint256 modelId,
        bytes calldata input,
        uint256 maxFee,
        address callback,
        uint256 callbackGas
    ) external payable returns (uint256 requestId) {
        if (input.length > MAX_INPUT_BYTES) revert InputTooLarge(input.length, MAX_INPUT_BYTES);
        (ModelRegistry.Model memory m, ModelRegistry.Mode mode) = _take(modelId, maxFee);
        if (mode != ModelRegistry.Mode.Optimistic) revert WrongMode(modelId, mode);
        bytes32[] memory roots = _inputRoots(modelId, input);
        bytes32 inputHash = keccak256(abi.encodePacked(roots));
        uint64 deadline;
        (requestId, deadline) = _store(m, modelId, mode, inputHash, callback, callbackGas);
        emit OptimisticRequested(requestId, modelId, msg.sender, input, roots, m.fee, deadline);
    }

    function _requestHashed(
        uint256 modelId,
        bytes32 inputHash,
        uint256 maxFee,
        address callback,
        uint256 callbackGas
    ) private returns (uint256 requestId) {
        (ModelRegistry.Model memory m, ModelRegistry.Mode mode) = _take(modelId, maxFee);
        if (mode == ModelRegistry.Mode.Optimistic) revert WrongMode(modelId, mode);
        uint64 deadline;
        (requestId, deadline) = _store(m, modelId, mode, inputHash, callback, callbackGas);
        emit Requested(requestId, modelId, msg.sender, inputHash, m.fee, deadline);
    }

    /// The model's terms, with the fee taken from msg.value (any excess credited back).
    function _take(uint256 modelId, uint256 maxFee)
        private
        returns (ModelRegistry.Model memory m, ModelRegistry.Mode mode)
    {
        m = registry.getModel(modelId); // reverts UnknownModel
        if (!m.active) revert ModelInactive(modelId);
        if (m.fee > maxFee) revert FeeAboveMax(m.fee, maxFee);
        if (msg.value < m.fee) revert InsufficientPayment(msg.value, m.fee);
        if (msg.value > m.fee) credits[msg.sender] += msg.value - m.fee;
        mode = registry.modeOf(modelId);
    }

    /// @dev Provider, fee and mode are snapshotted: later setFee/setActive/ownership changes
    ///      cannot change the terms of a request that is already paid for (an ownership
    ///      transfer only redirects new requests; this one settles with m.owner or refunds).
    function _store(
        ModelRegistry.Model memory m,
        uint256 modelId,
        ModelRegistry.Mode mode,
        bytes32 inputHash,
        address callback,
        uint256 callbackGas
    ) private returns (uint256 requestId, uint64 deadline) {
        if (callbackGas > MAX_CALLBACK_GAS) {
            revert CallbackGasTooHigh(callbackGas, MAX_CALLBACK_GAS);
        }
        deadline = uint64(block.timestamp) + fulfilTimeout;
        requestId = ++requestCount;
        // Field by field, one storage word per line: words 4-5 stay unwritten (zero) until a
        // claim, instead of paying for zero writes here.
        Entry storage e = _entries[requestId];
        (e.provider, e.deadline, e.status, e.mode) =
            (m.owner, uint48(deadline), Status.Open, mode);
        e.modelId = uint64(modelId);
        (e.client, e.payment) = (msg.sender, _u96(m.fee));
        e.inputHash = inputHash;
        if (callback != address(0)) _callbacks[requestId] = Callback(callback, uint32(callbackGas));
    }

    /// Each input's tensor root (TensorRoot, SPEC §8) from the registered shapes.
    function _inputRoots(uint256 modelId, bytes calldata input)
        private
        view
        returns (bytes32[] memory roots)
    {
        (uint32[] memory rows, uint32[] memory widths) = registry.inputShapeOf(modelId);
        uint256 want;
        for (uint256 k; k < rows.length; ++k) {
            want += uint256(rows[k]) * widths[k] * 4;
        }
        if (input.length != want) revert BadInputLength(input.length, want);
        roots = new bytes32[](rows.length);
        uint256 offset;
        for (uint256 k; k < rows.length; ++k) {
            roots[k] = TensorRoot.ofBe32(input, offset, rows[k], widths[k]);
            offset += uint256(rows[k]) * widths[k] * 4;
        }
    }

    // ---- zk: fulfil with a proof -----------------------------------------------------------

    /// @notice Settle a Zk request with a proof. `instances` = nInputs input instances, then
    ///         nOutputs outputs, exactly as registered.
    /// @dev Only the provider may fulfil: a valid proof seen in the mempool could otherwise be
    ///      copied and front-run by anyone to steal the fee. Replay protection is the input
    ///      hash: a proof for another input fails InputMismatch; a proof for the *same* input
    ///      (even one made for an earlier request) is by definition a correct answer.
    ///      The instance count must match the registered layout exactly: the verifier only
    ///      checks the instances as a whole, so with a free split a provider could move input
    ///      instances into the output part (or vice versa) and record a wrong "output".
    function fulfill(uint256 requestId, bytes calldata proof, uint256[] calldata instances)
        external
    {
        Entry storage e = _serve(requestId, ModelRegistry.Mode.Zk);
        (address verifier, uint256 n) = _zkLayout(e, instances);
        bytes32 outHash = _hashWords(instances[n:]);
        // Effects before the interaction: if the proof is bad the whole call reverts anyway.
        e.status = Status.Fulfilled;
        e.outputHash = outHash;
        credits[e.provider] += e.payment;
        _verify(verifier, proof, instances);
        emit Fulfilled(requestId, e.provider, outHash, instances[n:]);
        _deliver(requestId, _packWords(instances[n:]));
    }

    /// @notice After the deadline an unserved request's payment is credited to its client.
    ///         Anyone may trigger it; the money can only go to the client.
    function refund(uint256 requestId) external {
        Entry storage e = _open(requestId);
        if (block.timestamp <= e.deadline) revert DeadlineNotPassed(requestId, e.deadline);
        e.status = Status.Refunded;
        credits[e.client] += e.payment;
        emit Refunded(requestId, e.client, e.payment);
    }

    // ---- optimistic: claim, games, finalize --------------------------------------------------

    /// @notice Claim `output` for an optimistic request, bonded with msg.value. `output` is the
    ///         output tensor as be32 values; `outputProof` shows its tensor root at the output
    ///         slot of `finalCheckpoint` (P_n), so the claimed output is the one the game plays.
    function claim(
        uint256 requestId,
        bytes calldata output,
        bytes32 finalCheckpoint,
        bytes32[] calldata outputProof
    ) external payable {
        Entry storage e = _serve(requestId, ModelRegistry.Mode.Optimistic);
        _checkOutput(e.modelId, output, finalCheckpoint, outputProof, true);
        uint64 windowEnd = _claimWith(e, keccak256(output));
        e.finalCheckpoint = finalCheckpoint;
        emit Claimed(requestId, e.provider, output, finalCheckpoint, msg.value, windowEnd);
    }

    /// @notice Final once the window has passed with no game open and no open challenge; pays
    ///         fee + bond to the provider. Anyone may call it. With a callback, `output` must be
    ///         the claimed output (its hash is what was claimed) and is delivered.
    function finalize(uint256 requestId, bytes calldata output) external {
        Entry storage e = _claimed(requestId);
        if (e.batch != 0) revert InBatch(requestId, e.batch); // finalizeLeaf checks its output
        if (block.timestamp <= e.windowEnd) revert WindowOpen(requestId, e.windowEnd);
        if (e.openGames != 0) revert GamesOpen(e.openGames);
        if (e.mode == ModelRegistry.Mode.OnDemand && _challenges[requestId].challenger != address(0))
        {
            revert Challenged(requestId);
        }
        bool hasCallback = _callbacks[requestId].target != address(0);
        bytes32 got = keccak256(output);
        if (hasCallback && got != e.outputHash) revert OutputMismatch(e.outputHash, got);
        e.status = Status.Fulfilled;
        uint256 paid = uint256(e.payment) + e.bond;
        credits[e.provider] += paid;
        emit Finalized(requestId, e.provider, paid);
        if (hasCallback) _deliver(requestId, output);
    }

    /// @notice A DisputeGame opened a game on the claim (only the game; claim open, in window).
    function gameOpened(uint256 requestId) external {
        if (msg.sender != game) revert NotGame(msg.sender);
        Entry storage e = _entries[requestId];
        if (e.status != Status.Claimed || e.mode != ModelRegistry.Mode.Optimistic) {
            revert ClaimNotOpen(requestId);
        }
        if (e.batch != 0) return _batchGameOpened(requestId, e);
        if (block.timestamp > e.windowEnd) revert WindowClosed(requestId, e.windowEnd);
        e.openGames += 1;
    }

    /// @notice A game on the claim ended. The first `providerLost` voids the claim: the client
    ///         is refunded and `challenger` gets half the provider's bond (the rest is burned).
    /// @dev Later losses on a voided claim only close their game: the bond is paid out once.
    function gameResolved(uint256 requestId, bool providerLost, address challenger) external {
        if (msg.sender != game) revert NotGame(msg.sender);
        Entry storage e = _entries[requestId];
        if (e.batch != 0) return _batchGameResolved(requestId, e, providerLost, challenger);
        if (e.openGames == 0) revert NoOpenGames(requestId);
        e.openGames -= 1;
        if (!providerLost || e.status != Status.Claimed) return;
        e.status = Status.Refunded;
        credits[e.client] += e.payment;
        uint256 reward = _reward(e.bond);
        credits[challenger] += reward;
        emit Refunded(requestId, e.client, e.payment);
        emit ClaimVoided(requestId, challenger, reward);
    }

    // ---- zk on demand: claim, challenge, prove or time out -----------------------------------

    /// @notice Claim `outputs` for an OnDemand request, bonded with msg.value; a zk proof is
    ///         owed only if someone challenges within the window.
    function claimOnDemand(uint256 requestId, uint256[] calldata outputs) external payable {
        Entry storage e = _serve(requestId, ModelRegistry.Mode.OnDemand);
        (, uint32 nOutputs) = registry.layoutOf(e.modelId);
        if (outputs.length != nOutputs) revert WrongInstanceCount(outputs.length, nOutputs);
        _checkBond(e.modelId);
        uint64 windowEnd = _claimWith(e, _hashWords(outputs));
        emit OnDemandClaimed(requestId, e.provider, outputs, msg.value, windowEnd);
    }

    /// @notice Challenge an on-demand claim in its window with a bond ≥ minBond; the provider
    ///         (or anyone) must then prove within the proving window or the claim is refunded.
    function challengeOnDemand(uint256 requestId) external payable {
        Entry storage e = _claimedIn(requestId, ModelRegistry.Mode.OnDemand);
        if (block.timestamp > e.windowEnd) revert WindowClosed(requestId, e.windowEnd);
        if (msg.sender == e.provider) revert SelfChallenge();
        Challenge storage c = _challenges[requestId];
        if (c.challenger != address(0)) revert AlreadyChallenged(requestId);
        _checkBond(e.modelId);
        uint64 proveDeadline = uint64(block.timestamp) + provingWindow;
        (c.challenger, c.proveDeadline, c.bond) = (msg.sender, proveDeadline, msg.value);
        emit OnDemandChallenged(requestId, msg.sender, msg.value, proveDeadline);
    }

    /// @notice Settle an on-demand claim with a zk proof of exactly the claimed output. Anyone
    ///         may send it (a valid proof is the truth and pays only the provider): fee + bond,
    ///         plus half the challenger's bond if challenged (the other half is burned).
    function proveOnDemand(uint256 requestId, bytes calldata proof, uint256[] calldata instances)
        external
    {
        Entry storage e = _claimedIn(requestId, ModelRegistry.Mode.OnDemand);
        Challenge storage c = _challenges[requestId];
        if (c.challenger != address(0)) {
            if (block.timestamp > c.proveDeadline) {
                revert DeadlinePassed(requestId, c.proveDeadline);
            }
        } else if (block.timestamp > e.windowEnd) {
            revert WindowClosed(requestId, e.windowEnd);
        }
        (address verifier, uint256 n) = _zkLayout(e, instances);
        bytes32 got = _hashWords(instances[n:]);
        if (got != e.outputHash) revert OutputMismatch(e.outputHash, got);
        e.status = Status.Fulfilled;
        uint256 paid = uint256(e.payment) + e.bond;
        if (c.challenger != address(0)) paid += _reward(c.bond);
        credits[e.provider] += paid;
        _verify(verifier, proof, instances);
        emit Fulfilled(requestId, e.provider, got, instances[n:]);
        emit OnDemandProven(requestId, msg.sender, paid);
        _deliver(requestId, _packWords(instances[n:]));
    }

    /// @notice A challenged claim with no proof by the proving deadline: the client is refunded
    ///         and the challenger gets its bond back plus half the provider's (half is burned).
    function timeoutOnDemand(uint256 requestId) external {
        Entry storage e = _claimedIn(requestId, ModelRegistry.Mode.OnDemand);
        Challenge storage c = _challenges[requestId];
        if (c.challenger == address(0)) revert NotChallenged(requestId);
        if (block.timestamp <= c.proveDeadline) {
            revert DeadlineNotPassed(requestId, c.proveDeadline);
        }
        e.status = Status.Refunded;
        credits[e.client] += e.payment;
        uint256 paid = c.bond + _reward(e.bond);
        credits[c.challenger] += paid;
        emit Refunded(requestId, e.client, e.payment);
        emit OnDemandTimedOut(requestId, c.challenger, paid);
    }

    // ---- reads ---------------------------------------------------------------------------

    /// @notice The claim on `requestId` and its request's status (all zero when there is none).
    function claimOf(uint256 requestId) external view returns (ClaimInfo memory info, uint8) {
        Entry storage e = _entries[requestId];
        Challenge storage c = _challenges[requestId];
        info = ClaimInfo(
            e.provider,
            e.modelId,
            e.inputHash,
            e.finalCheckpoint,
            e.bond,
            e.windowEnd,
            e.openGames,
            c.challenger,
            c.proveDeadline,
            c.bond
        );
        if (e.batch != 0) return (info, _batchView(info, e.batch, uint8(e.status)));
        return (info, uint8(e.status));
    }
}
