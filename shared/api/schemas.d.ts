/**
 * The API's request and response shapes. The worker validates with these, the web app
 * types its calls with them, and the OpenAPI document is generated from them.
 * Request schemas are strict: an unknown field is a 400, not silently dropped.
 */
import { z } from "zod";
export declare const ROLES: readonly ["admin", "investigator", "site_operator"];
export declare const Role: z.ZodEnum<{
    admin: "admin";
    investigator: "investigator";
    site_operator: "site_operator";
}>;
export type Role = z.infer<typeof Role>;
/** Largest JSON body any route accepts, in bytes. Larger bodies get 413. */
export declare const MAX_JSON_BODY_BYTES: number;
export declare const PASSWORD_MIN_LENGTH = 12;
export declare const PASSWORD_MAX_LENGTH = 256;
export declare const ErrorBody: z.ZodObject<{
    error: z.ZodObject<{
        code: z.ZodString;
        message: z.ZodString;
        issues: z.ZodOptional<z.ZodArray<z.ZodObject<{
            path: z.ZodString;
            message: z.ZodString;
        }, z.core.$strip>>>;
    }, z.core.$strip>;
}, z.core.$strip>;
export type ErrorBody = z.infer<typeof ErrorBody>;
export declare const Health: z.ZodObject<{
    status: z.ZodLiteral<"ok">;
    version: z.ZodString;
    schemaVersion: z.ZodNumber;
}, z.core.$strip>;
export type Health = z.infer<typeof Health>;
export declare const Organisation: z.ZodObject<{
    id: z.ZodString;
    name: z.ZodString;
    createdAt: z.ZodString;
}, z.core.$strip>;
export type Organisation = z.infer<typeof Organisation>;
export declare const User: z.ZodObject<{
    id: z.ZodString;
    email: z.ZodString;
    name: z.ZodString;
    role: z.ZodEnum<{
        admin: "admin";
        investigator: "investigator";
        site_operator: "site_operator";
    }>;
    status: z.ZodEnum<{
        active: "active";
        invited: "invited";
        disabled: "disabled";
    }>;
    createdAt: z.ZodString;
}, z.core.$strip>;
export type User = z.infer<typeof User>;
export declare const SetupStatus: z.ZodObject<{
    needed: z.ZodBoolean;
}, z.core.$strip>;
export type SetupStatus = z.infer<typeof SetupStatus>;
export declare const SetupRequest: z.ZodObject<{
    organisation: z.ZodObject<{
        name: z.ZodString;
    }, z.core.$strict>;
    admin: z.ZodObject<{
        email: z.ZodPipe<z.ZodString, z.ZodEmail>;
        name: z.ZodString;
        password: z.ZodString;
    }, z.core.$strict>;
}, z.core.$strict>;
export type SetupRequest = z.input<typeof SetupRequest>;
export declare const SessionInfo: z.ZodObject<{
    user: z.ZodObject<{
        id: z.ZodString;
        email: z.ZodString;
        name: z.ZodString;
        role: z.ZodEnum<{
            admin: "admin";
            investigator: "investigator";
            site_operator: "site_operator";
        }>;
        status: z.ZodEnum<{
            active: "active";
            invited: "invited";
            disabled: "disabled";
        }>;
        createdAt: z.ZodString;
    }, z.core.$strip>;
    organisation: z.ZodObject<{
        id: z.ZodString;
        name: z.ZodString;
        createdAt: z.ZodString;
    }, z.core.$strip>;
    expiresAt: z.ZodString;
}, z.core.$strip>;
export type SessionInfo = z.infer<typeof SessionInfo>;
export declare const SignInRequest: z.ZodObject<{
    email: z.ZodPipe<z.ZodString, z.ZodEmail>;
    password: z.ZodString;
}, z.core.$strict>;
export type SignInRequest = z.input<typeof SignInRequest>;
export declare const UserList: z.ZodObject<{
    users: z.ZodArray<z.ZodObject<{
        id: z.ZodString;
        email: z.ZodString;
        name: z.ZodString;
        role: z.ZodEnum<{
            admin: "admin";
            investigator: "investigator";
            site_operator: "site_operator";
        }>;
        status: z.ZodEnum<{
            active: "active";
            invited: "invited";
            disabled: "disabled";
        }>;
        createdAt: z.ZodString;
    }, z.core.$strip>>;
}, z.core.$strip>;
export type UserList = z.infer<typeof UserList>;
export declare const CreateUserRequest: z.ZodObject<{
    email: z.ZodPipe<z.ZodString, z.ZodEmail>;
    name: z.ZodString;
    role: z.ZodEnum<{
        admin: "admin";
        investigator: "investigator";
        site_operator: "site_operator";
    }>;
}, z.core.$strict>;
export type CreateUserRequest = z.input<typeof CreateUserRequest>;
export declare const Invitation: z.ZodObject<{
    user: z.ZodObject<{
        id: z.ZodString;
        email: z.ZodString;
        name: z.ZodString;
        role: z.ZodEnum<{
            admin: "admin";
            investigator: "investigator";
            site_operator: "site_operator";
        }>;
        status: z.ZodEnum<{
            active: "active";
            invited: "invited";
            disabled: "disabled";
        }>;
        createdAt: z.ZodString;
    }, z.core.$strip>;
    token: z.ZodString;
    expiresAt: z.ZodString;
}, z.core.$strip>;
export type Invitation = z.infer<typeof Invitation>;
export declare const AcceptInvitationRequest: z.ZodObject<{
    token: z.ZodString;
    password: z.ZodString;
}, z.core.$strict>;
export type AcceptInvitationRequest = z.input<typeof AcceptInvitationRequest>;
export declare const UpdateUserRequest: z.ZodObject<{
    name: z.ZodOptional<z.ZodString>;
    role: z.ZodOptional<z.ZodEnum<{
        admin: "admin";
        investigator: "investigator";
        site_operator: "site_operator";
    }>>;
}, z.core.$strict>;
export type UpdateUserRequest = z.input<typeof UpdateUserRequest>;
export declare const UserIdParam: z.ZodObject<{
    id: z.ZodString;
}, z.core.$strict>;
